"""TrustStore decisions against real certificates, including forged and mis-used ones."""
from __future__ import annotations

import base64
import contextlib
import os
import re
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

import certs.trust
from certs import (
    CertificateRejected,
    MemberPaths,
    PkiPaths,
    TrustStore,
    TrustStoreError,
    issue_member,
    load_certificate,
    load_private_key,
    refresh_crl,
    revoke_member,
)
from certs.issuance import build_leaf, key_usage, member_key_usage
from certs.keys import generate_private_key
from certs.names import member_subject


def _member_cert(directory, code):
    return load_certificate(MemberPaths.of(directory, code).cert)


def _rejection(store, cert, *, at, hub=False):
    check = store.check_hub_signer if hub else store.check_member
    with pytest.raises(CertificateRejected) as caught:
        check(cert, at=at)
    return caught.value.code


def _sign_leaf(directory, *, subject):
    """A member-profile leaf with an arbitrary subject, really signed by ``directory``'s CA."""
    paths = PkiPaths.of(directory)
    key = generate_private_key("ec-p256")
    ca_cert = load_certificate(paths.ca_cert)
    return build_leaf(
        subject=subject, public_key=key.public_key(), ca_cert=ca_cert,
        ca_key=load_private_key(paths.ca_key),
        not_before=ca_cert.not_valid_before_utc, not_after=ca_cert.not_valid_after_utc,
        usage=member_key_usage("ec-p256"),
    )


def test_accepts_fresh_member_and_reports_identity(base_pki, rsa_member, ec_member, now):
    store = TrustStore(base_pki)
    cert = _member_cert(base_pki, rsa_member)
    identity = store.check_member(cert, at=now)
    assert identity.member == rsa_member
    assert identity.serial_hex == format(cert.serial_number, "x")
    assert identity.not_after == cert.not_valid_after_utc
    assert identity.key_type == "rsa-2048"
    assert identity.fingerprint_sha256 == cert.fingerprint(hashes.SHA256()).hex()
    assert store.check_member(_member_cert(base_pki, ec_member), at=now).key_type == "ec-p256"


def test_from_files_matches_directory_store(base_pki, rsa_member, now):
    paths = PkiPaths.of(base_pki)
    store = TrustStore.from_files(ca_cert=paths.ca_cert, crl=paths.crl)
    assert store.check_member(_member_cert(base_pki, rsa_member), at=now).member == rsa_member


def test_rejects_member_of_foreign_ca_with_same_name(base_pki, foreign_pki, rsa_member, now):
    foreign = _member_cert(foreign_pki, rsa_member)
    # same issuer name, so only the signature check can catch it
    assert foreign.issuer == load_certificate(PkiPaths.of(base_pki).ca_cert).subject
    store = TrustStore(base_pki)
    assert _rejection(store, foreign, at=now) == "security.certificate.untrusted"
    assert _rejection(store, foreign, at=now) == "security.certificate.untrusted"  # from the cache


def test_rejects_issuer_name_mismatch_even_with_valid_signature(base_pki, now):
    forged = _sign_leaf(base_pki, subject=member_subject("ORG9", member_name="ORG9"))
    # re-sign the same profile naming another issuer: the CA key is right, the name is not
    renamed = (x509.CertificateBuilder()
               .subject_name(forged.subject)
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")]))
               .public_key(forged.public_key()).serial_number(forged.serial_number)
               .not_valid_before(forged.not_valid_before_utc).not_valid_after(forged.not_valid_after_utc)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(member_key_usage("ec-p256"), critical=True)
               .sign(load_private_key(PkiPaths.of(base_pki).ca_key), hashes.SHA256()))
    store = TrustStore(base_pki)
    assert store.check_member(forged, at=now).member == "ORG9"  # control: the honest one passes
    assert _rejection(store, renamed, at=now) == "security.certificate.untrusted"


def test_rejects_expired_and_not_yet_valid(pki_dir, now):
    # inside the CA's own window (it starts 5 minutes before init) so only the leaf is at issue
    expired = issue_member(pki_dir, member="OLD1", not_before=now - timedelta(minutes=3),
                           not_after=now - timedelta(seconds=1))
    future = issue_member(pki_dir, member="NEW1", not_before=now + timedelta(days=1),
                          not_after=now + timedelta(days=30))
    store = TrustStore(pki_dir)
    assert _rejection(store, load_certificate(expired.cert), at=now) == "security.certificate.expired"
    assert _rejection(store, load_certificate(future.cert), at=now) == "security.certificate.expired"
    # the same certificates are fine inside their windows: the check really uses ``at``
    inside = now - timedelta(minutes=2)
    assert store.check_member(load_certificate(expired.cert), at=inside).member == "OLD1"
    assert store.check_member(load_certificate(future.cert), at=now + timedelta(days=2)).member == "NEW1"


def test_rejects_when_ca_itself_expired(base_pki, rsa_member):
    store = TrustStore(base_pki)
    ca = store.ca_certificate
    cert = _member_cert(base_pki, rsa_member)
    assert _rejection(store, cert, at=ca.not_valid_after_utc + timedelta(seconds=1)) == \
        "security.certificate.expired"


def test_revocation_is_seen_by_a_running_store(pki_dir, rsa_member, ec_member, now):
    store = TrustStore(pki_dir)
    cert = _member_cert(pki_dir, rsa_member)
    store.check_member(cert, at=now)  # accepted and cached before the revocation
    revoke_member(pki_dir, member=rsa_member, reason="keyCompromise")
    assert _rejection(store, cert, at=now) == "security.certificate.revoked"
    assert store.check_member(_member_cert(pki_dir, ec_member), at=now).member == ec_member


def test_renewed_member_passes_while_revoked_one_fails(pki_dir, rsa_member, now):
    store = TrustStore(pki_dir)
    old = _member_cert(pki_dir, rsa_member)
    revoke_member(pki_dir, member=rsa_member)
    issue_member(pki_dir, member=rsa_member, renew=True)
    assert _rejection(store, old, at=now) == "security.certificate.revoked"
    assert store.check_member(_member_cert(pki_dir, rsa_member), at=now).member == rsa_member


def test_rejects_wrong_key_usage(pki_dir, now):
    member = issue_member(pki_dir, member="ENC-ONLY", key_usage_override=("keyEncipherment",))
    cert = load_certificate(member.cert)
    assert not cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert _rejection(TrustStore(pki_dir), cert, at=now) == "security.certificate.usage"


def test_rejects_member_without_organization_identifier(base_pki, now):
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "member"),
        x509.NameAttribute(NameOID.COMMON_NAME, "ORG7"),
    ])
    cert = _sign_leaf(base_pki, subject=subject)
    assert _rejection(TrustStore(base_pki), cert, at=now) == "security.certificate.usage"


@pytest.mark.parametrize("field", ["ca_cert", "hub_sign_cert", "hub_enc_cert", "tls_cert"])
def test_rejects_ca_and_hub_certificates_presented_as_member(base_pki, now, field):
    cert = load_certificate(getattr(PkiPaths.of(base_pki), field))
    assert _rejection(TrustStore(base_pki), cert, at=now) == "security.certificate.untrusted"


@pytest.mark.parametrize("constraints", [x509.BasicConstraints(ca=True, path_length=None), None])
def test_rejects_member_subject_that_is_a_ca_or_unconstrained(base_pki, now, constraints):
    paths = PkiPaths.of(base_pki)
    ca_cert, key = load_certificate(paths.ca_cert), generate_private_key("ec-p256")
    builder = (x509.CertificateBuilder()
               .subject_name(member_subject("ORG8", member_name="ORG8")).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(ca_cert.not_valid_before_utc).not_valid_after(ca_cert.not_valid_after_utc)
               .add_extension(key_usage("digitalSignature", "keyCertSign"), critical=True))
    if constraints is not None:
        builder = builder.add_extension(constraints, critical=True)
    cert = builder.sign(load_private_key(paths.ca_key), hashes.SHA256())
    assert _rejection(TrustStore(base_pki), cert, at=now) == "security.certificate.untrusted"


def test_rejects_member_claiming_hub_identity(base_pki, now):
    cert = _sign_leaf(base_pki, subject=member_subject("HUB", member_name="HUB"))
    assert _rejection(TrustStore(base_pki), cert, at=now) == "security.certificate.untrusted"


def test_hub_signer_check(base_pki, rsa_member, now):
    paths = PkiPaths.of(base_pki)
    store = TrustStore(base_pki)
    identity = store.check_hub_signer(load_certificate(paths.hub_sign_cert), at=now)
    assert (identity.member, identity.key_type) == ("HUB", "ec-p256")
    assert _rejection(store, _member_cert(base_pki, rsa_member), at=now, hub=True) == \
        "security.certificate.untrusted"
    assert _rejection(store, load_certificate(paths.hub_enc_cert), at=now, hub=True) == \
        "security.certificate.usage"
    assert _rejection(store, load_certificate(paths.tls_cert), at=now, hub=True) == \
        "security.certificate.usage"
    assert _rejection(store, load_certificate(paths.ca_cert), at=now, hub=True) == \
        "security.certificate.untrusted"


def test_hub_signer_of_foreign_pki_rejected(base_pki, foreign_pki, now):
    foreign_signer = load_certificate(PkiPaths.of(foreign_pki).hub_sign_cert)
    assert _rejection(TrustStore(base_pki), foreign_signer, at=now, hub=True) == \
        "security.certificate.untrusted"


def _tamper_next_update(crl_path):
    """Change one digit of nextUpdate inside the signed part, keeping the PEM parseable."""
    pem = crl_path.read_text()
    der = bytearray(base64.b64decode("".join(pem.splitlines()[1:-1])))
    crl = x509.load_der_x509_crl(bytes(der))
    stamp = crl.next_update_utc.strftime("%y%m%d%H%M%SZ").encode()
    at = bytes(der).index(stamp)
    der[at + 1] = ord("0") if der[at + 1] != ord("0") else ord("1")
    body = base64.encodebytes(bytes(der)).decode()
    crl_path.write_text(f"-----BEGIN X509 CRL-----\n{body}-----END X509 CRL-----\n")


def test_tampered_crl_fails_closed(pki_dir, rsa_member, now):
    store = TrustStore(pki_dir)
    cert = _member_cert(pki_dir, rsa_member)
    store.check_member(cert, at=now)
    _tamper_next_update(PkiPaths.of(pki_dir).crl)
    x509.load_pem_x509_crl(PkiPaths.of(pki_dir).crl.read_bytes())  # still parses: only the signature fails
    with pytest.raises(TrustStoreError) as caught:
        store.check_member(cert, at=now)
    assert caught.value.code == "server.unavailable"
    with pytest.raises(TrustStoreError):
        TrustStore(pki_dir)
    refresh_crl(pki_dir)  # re-signed: the running store recovers without restart
    assert store.check_member(cert, at=now).member == rsa_member


def test_crl_of_foreign_ca_missing_or_garbage_fails_closed(pki_dir, foreign_pki, rsa_member, now):
    store = TrustStore(pki_dir)
    cert = _member_cert(pki_dir, rsa_member)
    crl = PkiPaths.of(pki_dir).crl
    crl.write_bytes(PkiPaths.of(foreign_pki).crl.read_bytes())
    with pytest.raises(TrustStoreError):
        store.check_member(cert, at=now)
    crl.write_text("not a CRL")
    with pytest.raises(TrustStoreError):
        store.check_member(cert, at=now)
    os.unlink(crl)
    with pytest.raises(TrustStoreError):
        store.check_member(cert, at=now)


def test_older_crl_put_back_is_refused(pki_dir, rsa_member, now):
    crl = PkiPaths.of(pki_dir).crl
    before_revocation = crl.read_bytes()
    store = TrustStore(pki_dir)
    revoke_member(pki_dir, member=rsa_member)
    assert _rejection(store, _member_cert(pki_dir, rsa_member), at=now) == "security.certificate.revoked"
    crl.write_bytes(before_revocation)  # validly signed, but hides the revocation
    with pytest.raises(TrustStoreError):
        store.check_member(_member_cert(pki_dir, rsa_member), at=now)


def test_missing_ca_is_a_trust_store_error(tmp_path):
    with pytest.raises(TrustStoreError) as caught:
        TrustStore(tmp_path)
    assert caught.value.code == "server.unavailable"


def test_signature_cache_is_bounded(base_pki, rsa_member, ec_member, foreign_pki, now, monkeypatch):
    monkeypatch.setattr(certs.trust, "CACHE_SIZE", 2)
    store = TrustStore(base_pki)
    for cert in (_member_cert(base_pki, rsa_member), _member_cert(base_pki, ec_member),
                 _member_cert(foreign_pki, rsa_member)):
        with contextlib.suppress(CertificateRejected):
            store.check_member(cert, at=now)
    assert len(store._profiles) == 2
    # the evicted entry is simply recomputed
    assert store.check_member(_member_cert(base_pki, rsa_member), at=now).member == rsa_member


def test_naive_time_is_refused(base_pki, rsa_member, now):
    with pytest.raises(ValueError):
        TrustStore(base_pki).check_member(_member_cert(base_pki, rsa_member), at=now.replace(tzinfo=None))


def test_rejection_messages_never_carry_certificate_data(base_pki, foreign_pki, rsa_member, now):
    with pytest.raises(CertificateRejected) as caught:
        TrustStore(base_pki).check_member(_member_cert(foreign_pki, rsa_member), at=now)
    text = f"{caught.value} {caught.value.message} {caught.value.detail}"
    assert not re.search(r"[0-9a-f]{16}|HOSP|BEGIN", text)
