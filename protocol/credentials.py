"""Keys and certificates loaded once, for whichever side signs, encrypts or decrypts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from certs.names import member_of

from .signature import SigningKey


@dataclass(frozen=True)
class Credentials:
    """A member's (or the hub's) certificate and private key, parsed once."""

    certificate: x509.Certificate
    cert_der: bytes
    private_key: object
    signing_key: SigningKey

    @property
    def member(self) -> str | None:
        """The member code in the certificate's subject (organizationIdentifier)."""
        return member_of(self.certificate)

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


__all__ = ["Credentials", "load_certificate"]
