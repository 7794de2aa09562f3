"""Keys and certificates loaded once, for whichever side signs, encrypts or decrypts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from .signature import SigningKey

ORG_OID = x509.ObjectIdentifier("2.5.4.97")  # organizationIdentifier


def org_code(cert: x509.Certificate) -> str | None:
    """The organization code bound into a certificate subject (organizationIdentifier)."""
    values = cert.subject.get_attributes_for_oid(ORG_OID)
    return values[0].value if len(values) == 1 else None


@dataclass(frozen=True)
class Credentials:
    """An organization's certificate and private key, parsed once."""

    certificate: x509.Certificate
    cert_der: bytes
    private_key: object
    signing_key: SigningKey

    @property
    def org_code(self) -> str | None:
        return org_code(self.certificate)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> "Credentials":
        cert = x509.load_pem_x509_certificate(cert_pem)
        return cls(certificate=cert, cert_der=cert.public_bytes(Encoding.DER),
                   private_key=load_pem_private_key(key_pem, password=None),
                   signing_key=SigningKey.from_pem(key_pem))

    @classmethod
    def from_files(cls, cert: str | Path, key: str | Path) -> "Credentials":
        return cls.from_pem(Path(cert).read_bytes(), Path(key).read_bytes())


def load_certificate(path: str | Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


__all__ = ["Credentials", "org_code", "load_certificate", "ORG_OID"]
