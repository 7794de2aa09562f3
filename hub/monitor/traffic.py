"""Traffic per member per hour or local day, and the members that went silent.

Every read names its members and a time range: ``member IN (…) AND received_at in [since, until)``
is one range of the inbox's (member, received_at, status) index per member, and the index holds
every column these reads need, so no inbox row (each holds its document) is read. An unscoped
caller's members are the inbox's own (``inbox_members``: one index probe per member). Measured on
a million messages in docs/monitor.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol.status import MessageStatus

from ..exchange.models import Message
from ..records.access import CARE_KINDS
from ..registry.models import EntryStatus, Institution
from .periods import Grain, bucket_key, bucket_start, check_period, iso
from .rejections import AUDIT, refused_before_storing
from .scope import MemberScope, inbox_members

_COUNTS = ("received", "accepted", "refused", "processed", "rejected", "pending")
_BY_STATUS = {MessageStatus.ACCEPTED.value: "pending", MessageStatus.PROCESSED.value: "processed",
              MessageStatus.REJECTED.value: "rejected"}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def received_between(members, since: datetime, until: datetime | None = None) -> list:
    """Conditions for the messages of ``members`` received in [since, until): index ranges."""
    conditions = [Message.member.in_(sorted(members)), Message.received_at >= since]
    return conditions + ([Message.received_at < until] if until is not None else [])


def traffic(session: Session, *, scope: MemberScope, since: datetime, until: datetime,
            grain: Grain | str = Grain.HOUR) -> list[dict]:
    """Per member and bucket: ``received`` (= ``accepted`` + ``refused``), ``accepted`` (stored, of
    which ``processed``, ``rejected`` in processing and ``pending``), ``refused`` (at the gate or the
    intake, no document stored). Empty buckets are left out; a bucket's ``start`` is local time."""
    grain = Grain(grain)
    since, until = check_period(since, until, grain)
    if scope is not None and not scope:
        return []
    dialect = _dialect(session)
    stored_key = bucket_key(Message.received_at, grain=grain, dialect=dialect)
    stored = (select(Message.member, stored_key, Message.status, func.count())
              .where(*received_between(scope if scope is not None else inbox_members(session), since, until))
              .group_by(Message.member, stored_key, Message.status))
    refused_key = bucket_key(AUDIT.c.at, grain=grain, dialect=dialect)
    refused = (select(AUDIT.c.member, refused_key, func.count())
               .where(AUDIT.c.at >= since, AUDIT.c.at < until, refused_before_storing())
               .group_by(AUDIT.c.member, refused_key))
    if scope is not None:
        refused = refused.where(AUDIT.c.member.in_(sorted(scope)))
    rows: dict[tuple, dict] = {}
    starts: dict[str, str] = {}  # a bucket's key → its start, parsed once (a quarter of hours: 2,208 keys)

    def row(member: str | None, key: str) -> dict:
        entry = rows.get((member, key))
        if entry is None:
            if key not in starts:
                starts[key] = bucket_start(key, grain).isoformat()
            entry = rows[(member, key)] = {"member": member, "start": starts[key], **dict.fromkeys(_COUNTS, 0)}
        return entry

    for member, key, status, count in session.execute(stored):
        entry = row(member, key)
        entry["accepted"] += count
        entry["received"] += count
        entry[_BY_STATUS[status]] += count
    for member, key, count in session.execute(refused):
        entry = row(member, key)
        entry["refused"] += count
        entry["received"] += count
    return sorted(rows.values(), key=lambda entry: (entry["member"] or "", entry["start"]))


def totals(rows: list[dict]) -> dict:
    """The counts of ``traffic`` rows added up."""
    return {name: sum(row[name] for row in rows) for name in _COUNTS}


def silent_members(session: Session, *, scope: MemberScope, now: datetime, quiet_for: timedelta,
                   kinds: frozenset[str] = CARE_KINDS) -> list[dict]:
    """Active registered members of ``kinds`` (care providers) in ``scope`` with no message received
    in the last ``quiet_for``: when each was last heard from (None: never), longest silent first."""
    # the last arrival of each: one probe at the end of its range of the (member, received_at) index
    last = (select(func.max(Message.received_at)).where(Message.member == Institution.code)
            .correlate(Institution).scalar_subquery())
    stmt = select(Institution.code, Institution.name, Institution.kind, Institution.division_code, last).where(
        Institution.status == EntryStatus.ACTIVE.value, Institution.kind.in_(sorted(kinds)))
    if scope is not None:
        stmt = stmt.where(Institution.code.in_(sorted(scope)))
    cutoff = now - quiet_for
    candidates = {code: (name, kind, division, last_at) for code, name, kind, division, last_at in session.execute(stmt)
                  if last_at is None or last_at < cutoff}
    silent = sorted(candidates)
    result = []
    for code in silent:
        name, kind, division, last_at = candidates[code]
        result.append({"member": code, "name": name, "kind": kind, "division_code": division,
                       "last_received_at": iso(last_at),
                       "silent_s": round((now - last_at).total_seconds(), 1) if last_at else None})
    return sorted(result, key=lambda entry: (entry["last_received_at"] is not None, entry["last_received_at"] or "",
                                             entry["member"]))


__all__ = ["traffic", "totals", "silent_members", "received_between"]
