"""Roles and identified-access grants: what ``hub.records.access`` asks the registry.

A bureau-role organization (卫生健康行政部门) sees aggregates; it reads identified personal records
only while it holds an unexpired, unrevoked ``identified`` grant.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from protocol.errors import HubError
from protocol.timestamps import utcnow

from .actor import Actor
from .models import BUREAU_KINDS, IDENTIFIED, AccessGrant, Institution


def role_of(session: Session, member: str) -> str:
    """``"bureau"`` for a registered bureau-kind organization, else ``"institution"``.

    An organization missing from the registry (but holding a hub certificate) is an institution:
    the role with the narrower access to other institutions' patients.
    """
    kind = session.scalar(select(Institution.kind).where(Institution.code == member))
    return "bureau" if kind in BUREAU_KINDS else "institution"


def _active(now: datetime):
    return (AccessGrant.scope == IDENTIFIED, AccessGrant.granted_at <= now,
            or_(AccessGrant.expires_at.is_(None), AccessGrant.expires_at > now),
            or_(AccessGrant.revoked_at.is_(None), AccessGrant.revoked_at > now))


def has_identified_grant(session: Session, member: str, now: datetime) -> bool:
    """True while ``member`` holds an identified-access grant valid at ``now``."""
    return bool(session.scalar(select(exists().where(AccessGrant.member == member, *_active(now)))))


def get_grant(session: Session, *, grant_id: int) -> AccessGrant | None:
    return session.get(AccessGrant, grant_id) if isinstance(grant_id, int) else None


def get_grant_or_raise(session: Session, *, grant_id: int) -> AccessGrant:
    grant = get_grant(session, grant_id=grant_id)
    if grant is None:
        raise HubError("registry.not_found", "no such grant")
    return grant


def query_grants(session: Session, *, member: str | None = None, now: datetime | None = None) -> list[AccessGrant]:
    """Grants (of one organization); with ``now``, only those valid at that time."""
    stmt = select(AccessGrant)
    if member is not None:
        stmt = stmt.where(AccessGrant.member == member)
    if now is not None:
        stmt = stmt.where(*_active(now))
    return list(session.scalars(stmt.order_by(AccessGrant.id)))


def create_grant(session: Session, *, actor: Actor, member: str, expires_at: datetime | None = None,
                 now: datetime | None = None) -> AccessGrant:
    """Grant identified access to a registered bureau-role organization (``actor.member`` is the grantor)."""
    now = now or utcnow()
    if role_of(session, member) != "bureau":
        raise HubError("registry.invalid", "only bureau-role organizations receive grants", field="/member")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise HubError("registry.invalid", "expiry must be an aware time in the future", field="/expires_at")
    grant = AccessGrant(member=member, scope=IDENTIFIED, granted_by=actor.member, granted_at=now,
                        expires_at=expires_at)
    session.add(grant)
    session.flush()
    actor.audit(session, "registry.access_grant.create")
    return grant


def revoke_grant(session: Session, *, actor: Actor, grant_id: int, now: datetime | None = None) -> AccessGrant:
    """End a grant now (a revoked grant stays revoked)."""
    grant = get_grant_or_raise(session, grant_id=grant_id)
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_by = now or utcnow(), actor.member
        session.flush()
        actor.audit(session, "registry.access_grant.revoke")
    return grant


__all__ = ["role_of", "has_identified_grant", "get_grant", "get_grant_or_raise", "query_grants", "create_grant",
           "revoke_grant"]
