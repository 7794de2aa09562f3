"""The attack corpus: named malformed or malicious requests and the machine code each must get.

Every case starts from a genuinely valid request sealed by ``builders.sealed`` (the client's own
code path) and mutates it, with lxml or by byte surgery. Where the attack needs a member's valid
signature (a member who signs a forbidden algorithm, a wrong recipient, a From naming another
organization, ...) the member re-signs after the change, so only the profile can refuse it; for
those cases ``valid_signature`` is set and a test proves that a permissive xmlsec verifier
(every transform enabled, every id registered — the way zeep verifies) accepts the signature.

One module per class, one named function per case: ``parser`` (bytes that must not get past the
hardened parser or the transport reader), ``signature`` (WS-Security header, references,
algorithms, certificates, member binding), ``encryption`` (a valid member signs what it sends:
only decryption can refuse), ``replay`` (timestamps and MessageID reuse). ``kit`` holds the case
registry, the message surgery and the Kit; importing this package imports the class modules in
that order, which fills ``CASES``.

``authenticated`` marks cases refused after the signature was verified: their fault carries a
receipt naming the (proven) MessageID; for every other case the MessageID must not be echoed.
"""
from __future__ import annotations

from . import encryption, parser, replay, signature  # noqa: F401  (registers the cases, in this order)
from .kit import CASES, CLASSES, ENCRYPTION, MAX_BYTES, PARSER, REPLAY, SIGNATURE, Attack, Case, Kit, xmlsec_accepts

__all__ = ["Attack", "Case", "CASES", "CLASSES", "ENCRYPTION", "Kit", "MAX_BYTES", "PARSER", "REPLAY", "SIGNATURE",
           "xmlsec_accepts"]
