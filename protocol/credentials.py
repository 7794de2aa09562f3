"""Keys and certificates loaded once, for whichever side signs, encrypts or decrypts."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from certs.names import member_of

from .signature import SigningKey


class CredentialsError(ValueError):
    """A certificate or private key that cannot be used, said in fixed words (never the file's contents).

    A ``ValueError`` as before, with a machine code like every error root's (``code``, ``detail``,
    ``fields``), so command lines print it in one line."""

    code = "credentials.invalid"

    def __init__(self, detail: str, **fields) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def _certificate(cert_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        if b"PRIVATE KEY-----" in cert_pem:
            raise CredentialsError("the certificate file holds a private key (certificate and key swapped?)",
                                   which="cert") from None
        raise CredentialsError("the certificate file is not a PEM certificate", which="cert") from None


def _private_key(key_pem: bytes):
    try:
        return load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise CredentialsError("the private key is encrypted: an unencrypted PEM key is needed", which="key") from None
    except (ValueError, UnsupportedAlgorithm):
        if b"-----BEGIN CERTIFICATE-----" in key_pem:
            raise CredentialsError("the key file holds a certificate (certificate and key swapped?)",
                                   which="key") from None
        raise CredentialsError("the key file is not a PEM private key", which="key") from None


def _public(key) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Credentials:
    """A member's (or the hub's) certificate and private key, parsed once."""

    certificate: x509.Certificate
    cert_der: bytes
    private_key: object
    signing_key: SigningKey

    @cached_property
    def member(self) -> str | None:
        """The member code in the certificate's subject (organizationIdentifier)."""
        return member_of(self.certificate)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> "Credentials":
        """Both parsed, and the key checked to be the certificate's; :class:`CredentialsError` otherwise."""
        cert = _certificate(cert_pem)
        private_key = _private_key(key_pem)
        try:
            matches = _public(private_key.public_key()) == _public(cert.public_key())
        except (AttributeError, ValueError, TypeError):
            matches = False
        if not matches:
            raise CredentialsError("the private key does not belong to the certificate", which="key")
        try:
            signing_key = SigningKey.from_pem(key_pem, private=private_key)
        except ValueError:
            raise CredentialsError("only RSA and EC P-256 keys can sign", which="key") from None
        return cls(certificate=cert, cert_der=cert.public_bytes(Encoding.DER), private_key=private_key,
                   signing_key=signing_key)

    @classmethod
    def from_files(cls, cert: str | Path, key: str | Path) -> "Credentials":
        """Read and check the two PEM files; a :class:`CredentialsError` names the file at fault."""
        try:
            return cls.from_pem(Path(cert).read_bytes(), Path(key).read_bytes())
        except CredentialsError as error:
            path = cert if error.fields.get("which") == "cert" else key
            raise CredentialsError(f"{error.detail}: {path}", **error.fields, path=str(path)) from None


def load_certificate(path: str | Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


__all__ = ["Credentials", "CredentialsError", "load_certificate"]
