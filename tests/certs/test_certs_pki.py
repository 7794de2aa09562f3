"""init / issue / revoke against real files and real keys."""
from __future__ import annotations

import json
import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs import (
    CertsError,
    MemberPaths,
    PkiPaths,
    init_pki,
    issue_member,
    list_certificates,
    load_certificate,
    load_private_key,
    member_of,
    refresh_crl,
    revoke_member,
)

ORG_ID = x509.ObjectIdentifier("2.5.4.97")
RSA_MEMBER = "HOSP-001"  # members of the base PKI (conftest.base_pki)
EC_MEMBER = "clinic.ec"


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def _attr(name: x509.Name, oid) -> str:
    return name.get_attributes_for_oid(oid)[0].value


def test_init_writes_layout_with_private_modes(base_pki):
    paths = PkiPaths.of(base_pki)
    for field in ("ca_cert", "ca_key", "hub_sign_cert", "hub_sign_key", "hub_enc_cert",
                  "hub_enc_key", "tls_cert", "tls_key", "crl", "registry"):
        assert getattr(paths, field).is_file(), field
    for key in (paths.ca_key, paths.hub_sign_key, paths.hub_enc_key, paths.tls_key,
                MemberPaths.of(base_pki, RSA_MEMBER).key):
        assert _mode(key) == 0o600, key
    for directory in (paths.ca_cert.parent, paths.hub_sign_cert.parent, paths.members,
                      MemberPaths.of(base_pki, RSA_MEMBER).directory):
        assert _mode(directory) == 0o700, directory
    assert not list(base_pki.rglob("*.tmp")), "atomic writes must not leave temp files"


def test_init_ca_and_hub_certificates(base_pki):
    paths = PkiPaths.of(base_pki)
    ca = load_certificate(paths.ca_cert)
    constraints = _ext(ca, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = _ext(ca, x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= timedelta(days=3650)
    ca.verify_directly_issued_by(ca)

    sign = load_certificate(paths.hub_sign_cert)
    assert isinstance(sign.public_key(), ec.EllipticCurvePublicKey)
    assert _attr(sign.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == "hub"
    assert _attr(sign.subject, NameOID.COMMON_NAME) == "Test Regional Hub signing"
    assert member_of(sign) == "HUB"
    sign_usage = _ext(sign, x509.KeyUsage).value
    assert sign_usage.digital_signature and sign_usage.content_commitment
    assert not sign_usage.key_encipherment

    enc = load_certificate(paths.hub_enc_cert)
    assert isinstance(enc.public_key(), rsa.RSAPublicKey) and enc.public_key().key_size == 2048
    enc_usage = _ext(enc, x509.KeyUsage).value
    assert enc_usage.key_encipherment and enc_usage.data_encipherment and not enc_usage.digital_signature
    assert member_of(enc) == "HUB"

    tls = load_certificate(paths.tls_cert)
    assert _ext(tls, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    san = _ext(tls, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "hub.example.org"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    for cert in (sign, enc, tls):
        cert.verify_directly_issued_by(ca)
        assert not _ext(cert, x509.BasicConstraints).value.ca
    assert load_private_key(paths.hub_sign_key).public_key() == sign.public_key()


def test_init_writes_empty_crl_signed_by_ca(base_pki):
    paths = PkiPaths.of(base_pki)
    crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
    ca = load_certificate(paths.ca_cert)
    assert crl.is_signature_valid(ca.public_key())
    assert len(crl) == 0
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=7)


def test_init_refuses_existing_pki_unless_forced(pki_dir):
    old_ca = load_certificate(PkiPaths.of(pki_dir).ca_cert)
    with pytest.raises(CertsError) as caught:
        init_pki(pki_dir)
    assert caught.value.code == "pki.exists"
    assert load_certificate(PkiPaths.of(pki_dir).ca_cert) == old_ca

    init_pki(pki_dir, force=True, ca_key_type="rsa-2048")
    assert load_certificate(PkiPaths.of(pki_dir).ca_cert) != old_ca
    assert not MemberPaths.of(pki_dir, RSA_MEMBER).cert.exists()
    assert {record.role for record in list_certificates(pki_dir)} == {"hub-sign", "hub-enc", "tls"}


@pytest.mark.parametrize("bad", [{"enc_key_type": "ec-p256"}, {"ca_key_type": "dsa"},
                                 {"hostnames": ("bad host",)}, {"hub_name": ""}])
def test_init_rejects_bad_options_before_writing(tmp_path, bad):
    with pytest.raises(CertsError) as caught:
        init_pki(tmp_path / "pki", **bad)
    assert caught.value.code.startswith("pki.") and caught.value.code.endswith(".invalid")
    assert not (tmp_path / "pki" / "ca").exists()


@pytest.mark.parametrize(("key_type", "third_usage"), [
    ("rsa-2048", "key_encipherment"),
    ("rsa-3072", "key_encipherment"),  # the only rsa-3072 key generated by the suite
    ("ec-p256", "key_agreement"),
])
def test_issue_member_profile(pki_dir, key_type, third_usage):
    member = issue_member(pki_dir, member="ORG.new_1", member_name="新医院", key_type=key_type, days=90)
    cert = load_certificate(member.cert)
    assert _mode(member.key) == 0o600
    assert load_private_key(member.key).public_key() == cert.public_key()
    assert cert.subject == x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "新医院"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "member"),
        x509.NameAttribute(NameOID.COMMON_NAME, "ORG.new_1"),
        x509.NameAttribute(ORG_ID, "ORG.new_1"),
    ])
    usage = _ext(cert, x509.KeyUsage)
    assert usage.critical
    set_bits = {name for name in ("digital_signature", "content_commitment", "key_encipherment",
                                  "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")
                if getattr(usage.value, name)}
    assert set_bits == {"digital_signature", "content_commitment", third_usage}
    assert _ext(cert, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    assert _ext(cert, x509.BasicConstraints).value.ca is False
    ca = load_certificate(PkiPaths.of(pki_dir).ca_cert)
    ca_ski = _ext(ca, x509.SubjectKeyIdentifier).value.digest
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski
    own_ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert _ext(cert, x509.SubjectKeyIdentifier).value == own_ski
    assert cert.serial_number.bit_length() <= 159 and cert.serial_number > 2**64
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=90, minutes=5)
    record = list_certificates(pki_dir)[-1]
    assert (record.member, record.role, record.key_type) == ("ORG.new_1", "member", key_type)
    assert record.serial_hex == format(cert.serial_number, "x")


def test_member_defaults_to_rsa_2048_and_org_code_as_name(base_pki):
    cert = load_certificate(MemberPaths.of(base_pki, RSA_MEMBER).cert)
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    ec_cert = load_certificate(MemberPaths.of(base_pki, EC_MEMBER).cert)
    assert _attr(ec_cert.subject, NameOID.ORGANIZATION_NAME) == EC_MEMBER
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=365) <= lifetime <= timedelta(days=365, minutes=5)


@pytest.mark.parametrize("code", ["A", "-abc", "a b", "x" * 65, "HUB", "hub", "abc\n", "é12", ""])
def test_issue_rejects_bad_org_codes(pki_dir, code):
    with pytest.raises(CertsError) as caught:
        issue_member(pki_dir, member=code)
    assert caught.value.code == "pki.member.invalid"


def test_issue_refuses_duplicate_and_renew_replaces(pki_dir):
    member = MemberPaths.of(pki_dir, RSA_MEMBER)
    old_cert, old_key = member.cert.read_bytes(), member.key.read_bytes()
    with pytest.raises(CertsError) as caught:
        issue_member(pki_dir, member=RSA_MEMBER)
    assert caught.value.code == "pki.member.exists"
    assert member.cert.read_bytes() == old_cert

    issue_member(pki_dir, member=RSA_MEMBER, key_type="ec-p256", renew=True)
    assert member.cert.read_bytes() != old_cert and member.key.read_bytes() != old_key
    assert isinstance(load_certificate(member.cert).public_key(), ec.EllipticCurvePublicKey)
    records = [r for r in list_certificates(pki_dir) if r.member == RSA_MEMBER]
    assert len(records) == 2 and {r.status for r in records} == {"valid"}
    # the registry keeps the superseded certificate readable where it now lives
    old_serial = load_certificate(records[0].cert_path).serial_number
    assert records[0].cert_path.read_bytes() == old_cert
    assert format(old_serial, "x") == records[0].serial_hex


def test_issue_needs_an_initialised_pki(tmp_path):
    with pytest.raises(CertsError) as caught:
        issue_member(tmp_path, member="ORG1")
    assert caught.value.code == "pki.missing"


def test_issue_rejects_inverted_validity(pki_dir, now):
    with pytest.raises(CertsError) as caught:
        issue_member(pki_dir, member="ORG2", not_before=now, not_after=now - timedelta(days=1))
    assert caught.value.code == "pki.validity.invalid"


def test_revoke_updates_registry_and_crl(pki_dir):
    crl_path = revoke_member(pki_dir, member=RSA_MEMBER, reason="keyCompromise")
    assert crl_path == PkiPaths.of(pki_dir).crl
    serial = load_certificate(MemberPaths.of(pki_dir, RSA_MEMBER).cert).serial_number
    crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    assert crl.is_signature_valid(load_certificate(PkiPaths.of(pki_dir).ca_cert).public_key())
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    registry = json.loads(PkiPaths.of(pki_dir).registry.read_text())
    revoked = [e for e in registry if e["member"] == RSA_MEMBER]
    assert revoked[0]["revoked_at"].endswith("Z") and revoked[0]["revocation_reason"] == "keyCompromise"
    assert all(e["revoked_at"] is None for e in registry if e["member"] != RSA_MEMBER)


def test_revoke_unknown_member_and_bad_reason(pki_dir):
    with pytest.raises(CertsError) as caught:
        revoke_member(pki_dir, member="NOBODY")
    assert caught.value.code == "pki.member.unknown"
    with pytest.raises(CertsError) as caught:
        revoke_member(pki_dir, member=RSA_MEMBER, reason="because")
    assert caught.value.code == "pki.reason.invalid"
    revoke_member(pki_dir, member=RSA_MEMBER)
    with pytest.raises(CertsError) as caught:  # nothing left to revoke
        revoke_member(pki_dir, member=RSA_MEMBER)
    assert caught.value.code == "pki.member.unknown"


def test_refresh_crl_keeps_revocations_and_bumps_number(pki_dir):
    revoke_member(pki_dir, member=EC_MEMBER, reason="superseded")
    refresh_crl(pki_dir, days=3)
    crl = x509.load_pem_x509_crl(PkiPaths.of(pki_dir).crl.read_bytes())
    assert len(crl) == 1
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=3)


def test_error_messages_are_fixed_and_carry_no_input(pki_dir):
    with pytest.raises(CertsError) as caught:
        issue_member(pki_dir, member="<script>")
    assert "<script>" not in caught.value.message
