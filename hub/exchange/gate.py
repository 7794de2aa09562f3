"""The security gate: every request passes these stages, in this order, before anything else.

size limit → hardened parse → structure + signature + certificate + member binding + timestamp
(``open_request``) → replay check → decrypt → hardened parse of the plaintext. The result is a
``VerifiedRequest``; later code uses only that object, never the raw envelope.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from lxml import etree

from protocol import encryption
from protocol.credentials import Credentials
from protocol.errors import HubError, SecurityError
from protocol.ns import HIE, q
from protocol.policy import DEFAULT_POLICY, Policy
from protocol.request import SignedRequest, open_request
from protocol.timestamps import utcnow
from protocol.xmlparse import ENVELOPE_LIMITS, parse_untrusted

ACTION_PREFIX = "urn:hie:exchange:v1:"
SUBMIT_OPERATIONS = frozenset({"SubmitDocument", "SubmitBatch"})
OPERATIONS = SUBMIT_OPERATIONS | {"GetStatus", "FetchReplies", "AckReplies"}


@dataclass(frozen=True)
class Service:
    """A SOAP service behind the gate: its namespace (``wsa:Action`` = namespace + ":" + operation)."""

    namespace: str
    operations: frozenset[str]
    submit_operations: frozenset[str] = frozenset()  # idempotent per document: no request-nonce check

    @property
    def action_prefix(self) -> str:
        return self.namespace + ":"

    def action_for(self, operation: str) -> str:
        return self.action_prefix + operation


EXCHANGE = Service(HIE, OPERATIONS, SUBMIT_OPERATIONS)


def action_for(operation: str) -> str:
    return ACTION_PREFIX + operation


@dataclass
class GateTrace:
    """What the gate has learned so far; fills the audit record of a rejection."""

    envelope_sha256: str = ""
    request: SignedRequest | None = None
    # a signed message whose CA-issued certificate was refused (revoked, expired): whose it was
    holder: tuple[str | None, str | None] = (None, None)

    @property
    def member(self) -> str | None:
        return self.request.identity.member if self.request else self.holder[0]

    @property
    def cert_serial(self) -> str | None:
        return self.request.identity.serial_hex if self.request else self.holder[1]

    @property
    def message_id(self) -> str | None:
        return self.request.message_id if self.request else None


@dataclass(frozen=True)
class VerifiedRequest:
    """A request proven signed by a member, fresh, not replayed, and decrypted."""

    request: SignedRequest
    operation: str
    content: etree._Element  # the decrypted operation element (hie:SubmitDocument, ...)
    raw: bytes = field(repr=False)
    envelope_sha256: str
    received_at: datetime

    @property
    def member(self) -> str:
        return self.request.identity.member


class OpenedRequest(NamedTuple):
    """A request whose envelope, signature, certificate and timestamp passed; not yet decrypted."""

    request: SignedRequest
    operation: str
    raw: bytes
    envelope_sha256: str
    received_at: datetime


class SecurityGate:
    """Turns raw request bytes into a ``VerifiedRequest`` or raises ``HubError``."""

    def __init__(self, *, trust, decryptor: Credentials, nonces, policy: Policy = DEFAULT_POLICY,
                 max_bytes: int = 10 * 1024 * 1024):
        self.trust = trust
        self.decryptor = decryptor
        self.nonces = nonces  # callable(sender, message_id, expires_at) raising security.replay
        self.policy = policy
        self.max_bytes = max_bytes

    def open(self, raw: bytes, *, trace: GateTrace | None = None, now: datetime | None = None,
             service: Service = EXCHANGE) -> OpenedRequest:
        """Size, parse, structure, signature, certificate, member and timestamp: no database, no decryption."""
        trace = trace if trace is not None else GateTrace()
        trace.envelope_sha256 = hashlib.sha256(raw).hexdigest()
        if len(raw) > self.max_bytes:
            raise SecurityError("transport.too_large", "over the size limit")
        root = parse_untrusted(raw, limits=ENVELOPE_LIMITS)
        now = now or utcnow()
        try:
            request = open_request(root, trust=self.trust, policy=self.policy, now=now)
        except SecurityError as refused:
            trace.holder = (refused.fields.get("member"), refused.fields.get("cert_serial"))
            raise
        trace.request = request
        prefix = service.action_prefix
        operation = request.action[len(prefix):] if request.action.startswith(prefix) else ""
        if operation not in service.operations:
            raise HubError("soap.operation.unknown", "unknown wsa:Action")
        return OpenedRequest(request, operation, raw, trace.envelope_sha256, now)

    def finish(self, opened: OpenedRequest, *, service: Service = EXCHANGE) -> VerifiedRequest:
        """Replay check (not for submissions, which touch no database here), decrypt, parse the plaintext."""
        request, operation = opened.request, opened.operation
        if operation not in service.submit_operations:
            # Submissions are idempotent per document instead (a resend gets its receipt back).
            self.nonces(request.identity.member, request.message_id, request.expires + self.policy.clock_skew)
        plaintext = encryption.decrypt(request.encrypted_data, request.encrypted_key,
                                       private_key=self.decryptor.private_key,
                                       recipient=self.decryptor.certificate, policy=self.policy)
        try:
            content = parse_untrusted(plaintext)
        except SecurityError:
            raise SecurityError("security.decryption.failed", "plaintext is not acceptable XML") from None
        if content.tag != q(service.namespace, operation):
            raise HubError("soap.operation.unknown", "Body content does not match wsa:Action")
        return VerifiedRequest(request=request, operation=operation, content=content, raw=opened.raw,
                               envelope_sha256=opened.envelope_sha256, received_at=opened.received_at)


__all__ = ["SecurityGate", "GateTrace", "OpenedRequest", "VerifiedRequest", "Service", "EXCHANGE", "action_for", "ACTION_PREFIX", "OPERATIONS",
           "SUBMIT_OPERATIONS"]
