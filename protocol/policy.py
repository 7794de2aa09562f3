"""The verification policy: strict defaults, relaxed only by naming what to relax."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from .ns import (
    MGF1_SHA1,
    MGF1_SHA256,
    OAEP_DIGEST_SHA1,
    OAEP_DIGEST_SHA256,
    C14n,
    DataEncryption,
    Digest,
    KeyTransport,
    SignatureMethod,
    Transform,
)

# The parts of a request that the signature must cover (names used in docs and errors).
REQUIRED_SIGNED_PARTS = ("Body", "Timestamp", "EncryptedKey", "MessageID", "To", "Action", "From")


@dataclass(frozen=True)
class Policy:
    """What a message may use. Nothing outside these sets is ever accepted."""

    signature_methods: frozenset = frozenset(SignatureMethod)
    canonicalizations: frozenset = frozenset({C14n.EXCLUSIVE.value})
    reference_transforms: frozenset = frozenset({Transform.EXCLUSIVE_C14N.value})
    digests: frozenset = frozenset({Digest.SHA256.value})
    data_encryption: frozenset = frozenset(DataEncryption)
    key_transport: frozenset = frozenset(KeyTransport)
    # OAEP's own hash and mask function: SHA-1 here is not a signature digest, and
    # xmlenc#rsa-oaep-mgf1p (what libxmlsec 1.2 emits) fixes MGF1 to SHA-1.
    oaep_digests: frozenset = frozenset({OAEP_DIGEST_SHA1, OAEP_DIGEST_SHA256})
    oaep_mgfs: frozenset = frozenset({MGF1_SHA1, MGF1_SHA256})
    # ECDH-ES + AES key wrap: only the hub uses it, to seal replies for EC-keyed members.
    # Requests to the hub always use RSA-OAEP key transport, so the gate leaves it off.
    allow_key_agreement: bool = False
    max_references: int = 10
    max_transforms: int = 2
    max_timestamp_lifetime: timedelta = timedelta(minutes=5)
    clock_skew: timedelta = timedelta(minutes=2)
    required_parts: tuple = field(default=REQUIRED_SIGNED_PARTS)


DEFAULT_POLICY = Policy()
REPLY_POLICY = Policy(allow_key_agreement=True)

__all__ = ["Policy", "DEFAULT_POLICY", "REPLY_POLICY", "REQUIRED_SIGNED_PARTS"]
