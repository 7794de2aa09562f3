"""Build (sign) the CA and leaf certificates; pure functions, no file I/O."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from .errors import CertsError
from .keys import PrivateKey

CLOCK_SKEW = timedelta(minutes=5)  # backdate notBefore so members with slow clocks accept it

_KEY_USAGE_FIELDS = {
    "digitalSignature": "digital_signature",
    "contentCommitment": "content_commitment",
    "nonRepudiation": "content_commitment",  # the pre-2005 name of contentCommitment
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
}


def key_usage(*names: str) -> x509.KeyUsage:
    """Build a KeyUsage extension from RFC 5280 bit names (``digitalSignature``, ...)."""
    flags = dict.fromkeys(set(_KEY_USAGE_FIELDS.values()), False)
    for name in names:
        field = _KEY_USAGE_FIELDS.get(name) or (name if name in flags else None)
        if field is None:
            raise CertsError("pki.key_usage.invalid")
        flags[field] = True
    return x509.KeyUsage(encipher_only=False, decipher_only=False, **flags)


def member_key_usage(key_type: str, *, override: Iterable[str] | None = None) -> x509.KeyUsage:
    """Key usage of a member certificate: RSA may wrap keys, EC agrees on them."""
    if override is not None:  # only for tests that need a certificate the trust check rejects
        return key_usage(*override)
    third = "keyAgreement" if key_type.startswith("ec-") else "keyEncipherment"
    return key_usage("digitalSignature", "contentCommitment", third)


def validity_window(
    *,
    now: datetime,
    days: int,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    limit: datetime | None = None,
) -> tuple[datetime, datetime]:
    """Return (notBefore, notAfter) in whole UTC seconds; defaults never outlive ``limit``."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CertsError("pki.validity.invalid", detail="days must be a positive integer")
    for value in (now, not_before, not_after):
        if value is not None and value.utcoffset() is None:
            raise CertsError("pki.validity.invalid", detail="datetimes must be timezone-aware")
    start = not_before if not_before is not None else now - CLOCK_SKEW
    end = not_after if not_after is not None else now + timedelta(days=days)
    if not_after is None and limit is not None:
        end = min(end, limit)  # a certificate must not outlive the CA that vouches for it
    start = start.astimezone(timezone.utc).replace(microsecond=0)
    end = end.astimezone(timezone.utc).replace(microsecond=0)
    if end <= start:
        raise CertsError("pki.validity.invalid", detail="notAfter must be after notBefore")
    return start, end


def build_ca(
    *, key: PrivateKey, subject: x509.Name, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    """Self-sign the hub root CA: CA=true, pathlen 0, keyCertSign + cRLSign."""
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage("keyCertSign", "cRLSign"), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def build_leaf(
    *,
    subject: x509.Name,
    public_key,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    not_before: datetime,
    not_after: datetime,
    usage: x509.KeyUsage,
    extended_usage: Iterable[x509.ObjectIdentifier] = (),
    alt_names: Iterable[x509.GeneralName] = (),
) -> x509.Certificate:
    """Sign an end-entity certificate (CA=false) under the hub CA."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())  # 159 random bits
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    extended_usage = list(extended_usage)
    if extended_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usage), critical=False)
    alt_names = list(alt_names)
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
