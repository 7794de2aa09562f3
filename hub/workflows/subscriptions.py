"""Members' subscriptions to notification topics (table ``workflow_subscription``).

Topics: ``referral`` (updates addressed to the member: delivered whether subscribed or not, the
subscription only records the wish), ``alert.disease`` (filter: a district code, or none for every
district), ``recall``. A member manages only its own subscriptions (the SOAP service takes the
member from the verified request); the bureau manages anyone's over the JSON API.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import audit
from ..registry.models import DISTRICT_LEVELS, Region
from .errors import WorkflowError
from .models import Subscription

# topic → (the reply kind its notifications travel as, the filter it takes: None or "district")
TOPICS: dict[str, tuple[str, str | None]] = {
    "referral": ("referral", None),
    "alert.disease": ("alert", "district"),
    "recall": ("recall", None),
}


def check(session: Session, *, topic: str, filter: str | None) -> str:
    """The filter as stored ("" for none); ``workflow.subscription.invalid`` for an unknown topic or filter."""
    if topic not in TOPICS:
        raise WorkflowError("workflow.subscription.invalid", "unknown topic", field="topic")
    value = (filter or "").strip()
    if not value:
        return ""
    if TOPICS[topic][1] != "district":
        raise WorkflowError("workflow.subscription.invalid", "the topic takes no filter", field="filter")
    level = session.scalar(select(Region.level).where(Region.code == value))
    if level not in DISTRICT_LEVELS:
        raise WorkflowError("workflow.subscription.invalid", "not a registered district", field="filter")
    return value


def subscribe(session: Session, *, member: str, topic: str, filter: str | None, actor: str, now: datetime,
              client_address: str | None = None) -> Subscription:
    """Subscribe ``member`` (idempotent: the same subscription again returns the one there is)."""
    value = check(session, topic=topic, filter=filter)
    found = session.scalars(select(Subscription).where(Subscription.member == member, Subscription.topic == topic,
                                                       Subscription.filter == value)).one_or_none()
    if found is not None:
        return found
    row = Subscription(member=member, topic=topic, filter=value, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "subscription.create", member=actor, client_address=client_address,
                 detail=f"workflow_subscription:{row.id} {member} {topic}"[:200])
    return row


def unsubscribe(session: Session, *, member: str, topic: str, filter: str | None, actor: str,
                client_address: str | None = None) -> int:
    """Remove the subscription; how many were removed (0 or 1)."""
    value = check(session, topic=topic, filter=filter)
    removed = session.execute(delete(Subscription).where(Subscription.member == member, Subscription.topic == topic,
                                                         Subscription.filter == value)).rowcount
    if removed:
        audit.record(session, "subscription.delete", member=actor, client_address=client_address,
                     detail=f"{member} {topic} {value}"[:200])
    return removed


def list_for(session: Session, *, member: str | None = None) -> list[Subscription]:
    """Subscriptions of ``member`` (every member's when None), in a stable order."""
    query = select(Subscription).order_by(Subscription.member, Subscription.topic, Subscription.filter)
    if member is not None:
        query = query.where(Subscription.member == member)
    return list(session.scalars(query))


def subscribers(session: Session, *, topic: str, district: str | None = None) -> list[str]:
    """Members to notify on ``topic``: those subscribed without a filter, and those whose filter matches."""
    wanted = [""] + ([district] if district else [])
    return sorted(set(session.scalars(select(Subscription.member).where(Subscription.topic == topic,
                                                                        Subscription.filter.in_(wanted)))))


def as_dict(row: Subscription) -> dict:
    return {"id": row.id, "member": row.member, "topic": row.topic, "filter": row.filter or None,
            "created_at": row.created_at.isoformat()}


__all__ = ["TOPICS", "check", "subscribe", "unsubscribe", "list_for", "subscribers", "as_dict"]
