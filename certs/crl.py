"""Build and write the CA's certificate revocation list from the registry."""
from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import CertsError
from .files import atomic_write
from .keys import PrivateKey
from .layout import PkiPaths
from .registry import parse_iso

CRL_DAYS = 7
# certificateHold is reversible and removeFromCRL is for delta CRLs; revocation here is final
REASONS = tuple(
    flag.value for flag in x509.ReasonFlags
    if flag not in (x509.ReasonFlags.certificate_hold, x509.ReasonFlags.remove_from_crl)
)


def check_reason(reason: str) -> str:
    """Normalise a revocation reason (``keyCompromise`` or ``key_compromise``) to RFC 5280 spelling."""
    flag = x509.ReasonFlags.__members__.get(reason) if isinstance(reason, str) else None
    value = flag.value if flag is not None else reason
    if value not in REASONS:
        raise CertsError("pki.reason.invalid", detail=f"allowed: {', '.join(REASONS)}")
    return value


def _revoked_entry(entry: dict) -> x509.RevokedCertificate:
    builder = (
        x509.RevokedCertificateBuilder()
        .serial_number(int(entry["serial"], 16))
        .revocation_date(parse_iso(entry["revoked_at"]))
    )
    reason = entry["revocation_reason"] or "unspecified"
    # RFC 5280 5.3.1: leave the extension out rather than saying "unspecified"
    if reason != "unspecified":
        builder = builder.add_extension(x509.CRLReason(x509.ReasonFlags(reason)), critical=False)
    return builder.build()


def _previous_number(path) -> int:
    try:
        return crl_number(x509.load_pem_x509_crl(path.read_bytes()))
    except (OSError, ValueError, x509.ExtensionNotFound):
        return 0


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's number (``x509.ExtensionNotFound`` when it has none)."""
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def verified_crl(pem: bytes, ca_cert: x509.Certificate) -> x509.CertificateRevocationList:
    """The CRL in ``pem`` if ``ca_cert`` issued and signed it and it has a number; else ``pki.crl.invalid``."""
    try:
        crl = x509.load_pem_x509_crl(pem)
        if crl.issuer == ca_cert.subject and crl.is_signature_valid(ca_cert.public_key()):
            crl_number(crl)
            return crl
    except (ValueError, TypeError, x509.ExtensionNotFound):
        pass
    raise CertsError("pki.crl.invalid")


def build_crl(
    *,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    entries: list[dict],
    now: datetime,
    number: int,
    days: int = CRL_DAYS,
) -> x509.CertificateRevocationList:
    """Sign a CRL listing every revoked entry of the registry."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for entry in entries:
        if entry["revoked_at"]:
            builder = builder.add_revoked_certificate(_revoked_entry(entry))
    return builder.sign(ca_key, hashes.SHA256())


def write_crl(
    directory,
    *,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    entries: list[dict],
    now: datetime,
    days: int = CRL_DAYS,
):
    """Sign a new CRL with the next CRL number and replace crl.pem atomically."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CertsError("pki.validity.invalid", detail="CRL days must be a positive integer")
    path = PkiPaths.of(directory).crl
    crl = build_crl(
        ca_cert=ca_cert, ca_key=ca_key, entries=entries, now=now.replace(microsecond=0),
        number=_previous_number(path) + 1, days=days,
    )
    return atomic_write(path, crl.public_bytes(Encoding.PEM))
