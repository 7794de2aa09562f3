"""Issue, revoke and check API tokens (bearer tokens for the JSON endpoints).

A token is 32 random bytes (URL-safe base64) shown once when issued; the store keeps its SHA-256.
The SOAP services do not use tokens: there the member's signing certificate identifies it.

A token is worth no more than its member's standing, checked on every use: the member is registered
and active in the registry, and — when the hub's PKI knows the member's certificates — it still holds
an unrevoked one and none was revoked since the token was issued (a revocation may mean the member's
secrets leaked: renewing the certificate does not bring old tokens back; issue new ones).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol.errors import HubError

from certs import MemberCertificates

from .. import audit
from ..registry.models import EntryStatus, Institution
from .models import ApiToken

PREFIX = "hie_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, *, member: str, label: str, now: datetime, valid_days: int = 365) -> str:
    """A new token for ``member`` (returned once; only its hash is stored). Every token expires."""
    if not isinstance(valid_days, int) or valid_days < 1:
        raise ValueError("a token lives at least one day, and never forever")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_sha256=_digest(token), member=member, label=label[:100], created_at=now,
                         expires_at=now + timedelta(days=valid_days)))
    audit.record(session, "token.issue", member=member)
    return token


def revoke(session: Session, *, member: str, now: datetime) -> int:
    """Revoke every live token of ``member``; returns how many."""
    result = session.execute(update(ApiToken).where(ApiToken.member == member, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now))
    audit.record(session, "token.revoke", member=member)
    return result.rowcount


def standing_refusal(session: Session, *, member: str, issued_at: datetime,
                     certificates: MemberCertificates | None) -> str | None:
    """Why ``member`` may not use a token issued at ``issued_at`` (``unregistered``, ``inactive``,
    ``certificate_revoked``), or None. Without ``certificates`` (a hub with no PKI registry) only the
    registry is asked."""
    institution = session.get(Institution, member)
    if institution is None:
        return "unregistered"
    if institution.status != EntryStatus.ACTIVE.value:
        return "inactive"
    if certificates is not None:
        held = certificates.of(member)
        if held.issued and (not held.unrevoked or held.revoked_since(issued_at)):
            return "certificate_revoked"
    return None


def authenticate(session: Session, *, token: str | None, now: datetime,
                 certificates: MemberCertificates | None = None) -> str:
    """The member a bearer token belongs to; ``access.denied`` for anything else. The refusal's
    fields say why (``reason``: missing, malformed, unknown, revoked, expired, or the member's
    standing: unregistered, inactive, certificate_revoked) and, once the token is known, whose it
    was (``member``), for the audit."""
    if not token:
        raise HubError("access.denied", "missing token", reason="missing")
    if not token.startswith(PREFIX) or len(token) > 100:
        raise HubError("access.denied", "malformed token", reason="malformed")
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == _digest(token))).first()
    if row is None:
        raise HubError("access.denied", "unknown token", reason="unknown")
    if row.revoked_at is not None:
        raise HubError("access.denied", "revoked token", reason="revoked", member=row.member)
    if row.expires_at is not None and row.expires_at <= now:
        raise HubError("access.denied", "expired token", reason="expired", member=row.member)
    refusal = standing_refusal(session, member=row.member, issued_at=row.created_at, certificates=certificates)
    if refusal is not None:
        raise HubError("access.denied", f"member not in standing ({refusal})", reason=refusal, member=row.member)
    return row.member


__all__ = ["issue", "revoke", "authenticate", "standing_refusal", "PREFIX"]
