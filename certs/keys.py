"""Key types, key generation and the PEM load/dump helpers."""
from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .errors import CertsError

RSA_KEY_TYPES = ("rsa-2048", "rsa-3072")
KEY_TYPES = ("rsa-2048", "rsa-3072", "ec-p256")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def check_key_type(key_type: str, *, allowed: tuple[str, ...] = KEY_TYPES) -> str:
    """Return ``key_type`` if it is one of ``allowed``, else raise ``pki.key_type.invalid``."""
    if key_type not in allowed:
        raise CertsError("pki.key_type.invalid", detail=f"allowed: {', '.join(allowed)}")
    return key_type


def generate_private_key(key_type: str) -> PrivateKey:
    """Generate a fresh private key of a supported key type."""
    check_key_type(key_type)
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.split("-")[1]))


def key_type_of(public_key) -> str:
    """Name a public key the way the registry does (``rsa-2048``, ``ec-p256``, ...)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"rsa-{public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ec-p256" if isinstance(public_key.curve, ec.SECP256R1) else f"ec-{public_key.curve.name}"
    return "other"


def private_key_pem(key: PrivateKey) -> bytes:
    """Serialise a private key as unencrypted PKCS#8 PEM (protected by file mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def certificate_pem(cert: x509.Certificate) -> bytes:
    """Serialise a certificate as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def _read(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        raise CertsError("pki.file.invalid", detail=str(path)) from None


def load_private_key(path: Path | str, *, password: bytes | None = None) -> PrivateKey:
    """Load a PEM private key (RSA or EC) from ``path``."""
    try:
        key = serialization.load_pem_private_key(_read(path), password=password)
    except (ValueError, TypeError):
        raise CertsError("pki.file.invalid", detail=str(path)) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CertsError("pki.file.invalid", detail=str(path))
    return key


def load_certificate(path: Path | str) -> x509.Certificate:
    """Load one PEM certificate from ``path``."""
    try:
        return x509.load_pem_x509_certificate(_read(path))
    except ValueError:
        raise CertsError("pki.file.invalid", detail=str(path)) from None
