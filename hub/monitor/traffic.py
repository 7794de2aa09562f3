"""Traffic per member per hour or local day, and the members that went silent.

Time-range reads of the inbox go through its ``updated_at`` index (the ETL's change feed): a
message's ``updated_at`` is its arrival, moved on when it is processed, so it is never earlier than
its ``received_at`` (``CLOCK_SLACK`` aside), and "received since T" implies "updated since T". That
serves a recent window (the usual question) without a second time index on the intake's hot path;
an old window reads everything updated since its start (measured in docs/monitor.md).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol.status import MessageStatus

from ..exchange.models import Message
from ..records.access import CARE_KINDS
from ..registry.models import EntryStatus, Institution
from .periods import CLOCK_SLACK, Grain, bucket_key, bucket_start, check_period, iso
from .rejections import AUDIT, refused_before_storing
from .scope import MemberScope

_COUNTS = ("received", "accepted", "refused", "processed", "rejected", "pending")


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def received_between(since: datetime, until: datetime | None = None) -> list:
    """Conditions for messages received in [since, until), served by the ``updated_at`` index."""
    conditions = [Message.updated_at >= since - CLOCK_SLACK, Message.received_at >= since]
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
              .where(*received_between(since, until)).group_by(Message.member, stored_key, Message.status))
    refused_key = bucket_key(AUDIT.c.at, grain=grain, dialect=dialect)
    refused = (select(AUDIT.c.member, refused_key, func.count())
               .where(AUDIT.c.at >= since, AUDIT.c.at < until, refused_before_storing())
               .group_by(AUDIT.c.member, refused_key))
    if scope is not None:
        stored = stored.where(Message.member.in_(sorted(scope)))
        refused = refused.where(AUDIT.c.member.in_(sorted(scope)))
    rows: dict[tuple, dict] = {}

    def row(member: str | None, key: str) -> dict:
        if (member, key) not in rows:
            rows[(member, key)] = {"member": member, "start": bucket_start(key, grain).isoformat(),
                                   **dict.fromkeys(_COUNTS, 0)}
        return rows[(member, key)]

    for member, key, status, count in session.execute(stored):
        entry = row(member, key)
        entry["accepted"] += count
        entry["received"] += count
        entry["pending" if status == MessageStatus.ACCEPTED.value else status] += count
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
    stmt = select(Institution.code, Institution.name, Institution.kind, Institution.division_code).where(
        Institution.status == EntryStatus.ACTIVE.value, Institution.kind.in_(sorted(kinds)))
    if scope is not None:
        stmt = stmt.where(Institution.code.in_(sorted(scope)))
    candidates = {code: (name, kind, division) for code, name, kind, division in session.execute(stmt)}
    if not candidates:
        return []
    heard = set(session.scalars(select(Message.member).distinct().where(
        *received_between(now - quiet_for), Message.member.in_(sorted(candidates)))))
    silent = sorted(set(candidates) - heard)
    last = {code: at for code, at in session.execute(select(Message.member, func.max(Message.received_at))
                                                   .where(Message.member.in_(silent)).group_by(Message.member))}
    result = []
    for code in silent:
        name, kind, division = candidates[code]
        last_at = last.get(code)
        result.append({"member": code, "name": name, "kind": kind, "division_code": division,
                       "last_received_at": iso(last_at),
                       "silent_s": round((now - last_at).total_seconds(), 1) if last_at else None})
    return sorted(result, key=lambda entry: (entry["last_received_at"] is not None, entry["last_received_at"] or "",
                                             entry["member"]))


__all__ = ["traffic", "totals", "silent_members", "received_between"]
