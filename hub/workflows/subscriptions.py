"""Members' subscriptions to notification topics (table ``workflow_subscription``).

Topics: ``referral`` (updates addressed to the member: delivered whether subscribed or not, the
subscription only records the wish), ``alert.disease`` (filter: a district code, or none for every
district), ``recall``. A member manages only its own subscriptions (the SOAP service takes the
member from the verified request); the bureau manages anyone's over the JSON API.

Disease alerts name districts, and a member hears only of those it is registered in (``districts_of``):
a bureau the districts it governs, a CDC or a bureau over the whole registry every district (and the
filter "every district"), any other member its own district. Anything else is refused
(``workflow.subscription.scope``); a subscription that no longer fits (the member moved or was
re-registered) stays listed but is not delivered: the rule is checked again at each delivery.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import audit
from ..store.db import transaction
from ..registry.models import BUREAU_KINDS, DISTRICT_LEVELS, Institution, Region
from .errors import WorkflowError
from .models import Subscription

# topic → (the reply kind its notifications travel as, the filter it takes: None or "district")
TOPICS: dict[str, tuple[str, str | None]] = {
    "referral": ("referral", None),
    "alert.disease": ("alert", "district"),
    "recall": ("recall", None),
}
EVERY_DISTRICT_KINDS = frozenset({"cdc"})  # disease control: every district's disease alerts


def _districts_under(session: Session, division: str) -> frozenset[str]:
    """District-level divisions at or below ``division`` ("" for the whole registry), from ``registry_region``."""
    regions = session.execute(select(Region.code, Region.level, Region.parent_code)).all()
    children: dict[str, list[str]] = {}
    for row in regions:
        children.setdefault(row.parent_code or "", []).append(row.code)
    levels = {row.code: row.level for row in regions}
    found, stack, seen = set(), [division], set()
    while stack:
        code = stack.pop()
        if code not in seen:
            seen.add(code)
            found |= {code} if levels.get(code) in DISTRICT_LEVELS else set()
            stack.extend(children.get(code, ()))
    return frozenset(found)


def districts_of(session: Session, member: str) -> frozenset[str] | None:
    """The districts whose disease alerts ``member`` may hear of; None: every district (see the module docstring)."""
    found = session.execute(select(Institution.kind, Institution.division_code)
                            .where(Institution.code == member)).one_or_none()
    if found is None:
        return frozenset()  # a certificate without a registry entry: no district is its own
    if found.kind in EVERY_DISTRICT_KINDS:
        return None
    if found.kind in BUREAU_KINDS:
        governed = _districts_under(session, found.division_code or "")
        return None if governed and governed >= _districts_under(session, "") else governed
    return frozenset({found.division_code}) if found.division_code else frozenset()


def _allowed(districts: frozenset[str] | None, value: str) -> bool:
    return districts is None or (value != "" and value in districts)


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
    """Subscribe ``member`` (idempotent: the same subscription again returns the one there is);
    ``workflow.subscription.scope`` for a district's disease alerts that are not the member's to hear."""
    value = check(session, topic=topic, filter=filter)
    if TOPICS[topic][1] == "district" and not _allowed(districts_of(session, member), value):
        raise WorkflowError("workflow.subscription.scope", "not a district the member is registered in",
                            field="filter")
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
    """Members to notify on ``topic``: those subscribed without a filter, and those whose filter matches;
    for a district's topic, only members that may hear of that district now (``districts_of``)."""
    wanted = [""] + ([district] if district else [])
    rows = session.execute(select(Subscription.member, Subscription.filter).where(
        Subscription.topic == topic, Subscription.filter.in_(wanted))).all()
    if TOPICS.get(topic, (None, None))[1] != "district":
        return sorted({row.member for row in rows})
    rights = {member: districts_of(session, member) for member in {row.member for row in rows}}
    return sorted({row.member for row in rows if _allowed(rights[row.member], row.filter)})


def audit_refusal(sessions, *, code: str, actor: str, member: str, topic: str,
                  client_address: str | None = None) -> None:
    """Audit a refused subscription (``subscription.reject`` with its code) in its own transaction."""
    with transaction(sessions) as session:
        audit.record(session, "subscription.reject", code=code, member=actor, client_address=client_address,
                     detail=f"{member} {topic}"[:200])


def as_dict(row: Subscription) -> dict:
    return {"id": row.id, "member": row.member, "topic": row.topic, "filter": row.filter or None,
            "created_at": row.created_at.isoformat()}


__all__ = ["TOPICS", "EVERY_DISTRICT_KINDS", "districts_of", "check", "subscribe", "unsubscribe", "audit_refusal",
           "list_for", "subscribers", "as_dict"]
