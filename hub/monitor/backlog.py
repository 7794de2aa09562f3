"""The processing backlog: messages accepted (receipt sent) and not yet processed, and how old the oldest is.

``/healthz``, ``/metrics`` and the monitor read it here, through the inbox's status index.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol.status import MessageStatus

from ..exchange.models import Message
from .scope import MemberScope

PENDING = tuple(status.value for status in MessageStatus.pending())


@dataclass(frozen=True)
class Backlog:
    """Messages accepted and not yet processed: how many, and since when the oldest waits."""

    count: int
    oldest: datetime | None
    retrying: int = 0  # of them, failed by a stage's bug and waiting for their next try (hub.chunks.retry_delay)

    def age_s(self, now: datetime) -> float:
        return max(0.0, (now - self.oldest).total_seconds()) if self.oldest is not None else 0.0


def read_backlog(session: Session, *, scope: MemberScope = None) -> Backlog:
    """The inbox's backlog (``MessageStatus.pending``), of the members in ``scope`` (None: all)."""
    stmt = (select(func.count(), func.min(Message.received_at), func.count(Message.retry_after))
            .where(Message.status.in_(PENDING)))
    if scope is not None:
        stmt = stmt.where(Message.member.in_(sorted(scope)))
    count, oldest, retrying = session.execute(stmt).one()
    return Backlog(count=int(count), oldest=oldest, retrying=int(retrying))


def backlog(session: Session, *, now: datetime, scope: MemberScope = None) -> dict:
    """The backlog as the monitor shows it: totals and, per member, count and oldest age."""
    total = read_backlog(session, scope=scope)
    stmt = (select(Message.member, func.count(), func.min(Message.received_at))
            .where(Message.status.in_(PENDING)).group_by(Message.member))
    if scope is not None:
        stmt = stmt.where(Message.member.in_(sorted(scope)))
    members = [{"member": member, "count": int(count), "oldest_received_at": oldest.isoformat(),
                "age_s": round(Backlog(int(count), oldest).age_s(now), 1)}
               for member, count, oldest in session.execute(stmt)]
    members.sort(key=lambda row: (-row["age_s"], row["member"]))
    return {"count": total.count, "retrying": total.retrying, "oldest_received_at": total.oldest.isoformat() if total.oldest else None,
            "age_s": round(total.age_s(now), 1), "members": members}


__all__ = ["Backlog", "PENDING", "read_backlog", "backlog"]
