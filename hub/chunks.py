"""A chunk of accepted messages through the processing stages, in its write transaction.

Each stage (``Stage``) prepares the chunk outside the transaction (pure work), then applies it and
returns the messages it rejects, leaving nothing of theirs written. A stage that fails unexpectedly is
rolled back to a savepoint and rerun one message at a time; the message it still fails on stays pending
(a bug, not bad data: a clinical fact is never dropped), its attempts counted and its next try put off
(``retry_delay``), so it is neither retried on every tick nor in the way of the messages behind it. The outcomes (status, acknowledgement, audit) are written in the same transaction.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from protocol.errors import HubError
from protocol.findings import Finding
from protocol.status import MessageStatus

from . import audit
from .exchange import replies
from .exchange import sql as statements
from .exchange.models import Message
from .store.rawsql import RawSql

log = logging.getLogger("hub.pipeline")  # the processor's log, as before the chunk moved here
_MESSAGES = Message.__table__
PENDING = [status.value for status in MessageStatus.pending()]
# A message failing by a stage's bug is tried again after 30 s, then after twice as long each time, at most an
# hour apart: a fixed bug (a new release) reaches it within the hour, and meanwhile it costs a few tries a day.
RETRY_FIRST_S = 30.0
RETRY_MAX_S = 3600.0


def retry_delay(attempts: int) -> timedelta:
    """How long a message that has failed ``attempts`` times (by a stage's bug) waits before the next try."""
    return timedelta(seconds=min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** min(max(attempts - 1, 0), 20)))


class Stage(ABC):
    """One step of processing accepted messages (the records store is one; others plug in alike)."""

    def prepare(self, messages: list[PendingMessage]) -> object:
        """The pure part for a chunk, before its transaction (nothing by default)."""
        return None

    @abstractmethod
    def apply(self, session: Session, messages: list[PendingMessage], now: datetime, prepared) -> dict[int, HubError]:
        """Write the messages' results in ``session``; the rejected ones by row id (nothing of theirs written)."""

    def findings(self, prepared) -> dict[int, list[Finding]]:
        """What the stage found wrong in the messages it kept, by row id (the acknowledgement reports it)."""
        return {}

    def lock_keys(self, prepared) -> set[str]:
        """What the chunk's database work could race on with another processor's (PostgreSQL): keys taken
        as advisory locks, with every stage's, sorted, before any stage applies (none by default)."""
        return set()


class PendingMessage(NamedTuple):
    """A message to process, as read from the inbox."""

    id: int
    member: str
    message_id: str
    document: bytes
    received_at: datetime  # aware UTC: an event dated after it is in the future (hub/records/quality.py)


def _run_stage(session: Session, stage: Stage, messages, now: datetime, errors: dict[int, HubError],
               broken: dict[int, str], prepared) -> None:
    """Run ``stage`` on the batch; if it fails unexpectedly, once per message to isolate the culprit."""
    try:
        with session.begin_nested():
            errors.update(stage.apply(session, messages, now, prepared))
        return
    except HubError as exc:  # the stage refused the batch as a whole: find whose fault it is
        if len(messages) == 1:
            errors[messages[0].id] = exc
            return
    except Exception as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise  # the chunk's connection is gone (cut off after a pause): no message is to blame
        if len(messages) == 1:
            broken[messages[0].id] = type(exc).__name__  # logged with its attempt once the chunk is recorded (_put_off)
            return
    for message in messages:
        _run_stage(session, stage, [message], now, errors, broken, prepared)


def _put_off(session: Session, broken: dict[int, str], now: datetime) -> None:
    """Back to pending the messages a stage failed on by a bug, each attempt counted and the next put off."""
    tries = statements.attempts(RawSql(session), list(broken))
    rows = []
    for row_id, failure in sorted(broken.items()):
        attempt = tries.get(row_id, 0) + 1
        rows.append({"row_id": row_id, "status": MessageStatus.ACCEPTED.value, "attempts": attempt,
                     "retry_after": now + retry_delay(attempt)})
        log.error("processing stage failed for message %s (attempt %d, next in %.0f s): %s", row_id, attempt,
                  retry_delay(attempt).total_seconds(), failure)
    session.execute(update(_MESSAGES).where(_MESSAGES.c.id == bindparam("row_id"))
                    .values(status=bindparam("status"), attempts=bindparam("attempts"),
                            retry_after=bindparam("retry_after")), rows)


def claim(session: Session, candidates: list[PendingMessage], now: datetime) -> set[int]:
    """Mark the candidates still pending as processed; their ids (another process may have taken some)."""
    return statements.claim(RawSql(session), [m.id for m in candidates], pending=PENDING,
                            status=MessageStatus.PROCESSED.value, now=now)


def apply_chunk(session: Session, stages: Sequence[Stage], messages: list[PendingMessage], prepared: list,
                now: datetime) -> int:
    """The stages' database work on claimed ``messages`` and their outcomes, in ``session``'s transaction."""
    errors: dict[int, HubError] = {}
    broken: dict[int, str] = {}  # a bug, not bad data: left pending to be retried later, logged without content
    for stage, prepared_by_stage in zip(stages, prepared):
        remaining = [m for m in messages if m.id not in errors and m.id not in broken]
        if remaining:
            _run_stage(session, stage, remaining, now, errors, broken, prepared_by_stage)
    found: dict[int, list[Finding]] = {}
    for stage, prepared_by_stage in zip(stages, prepared):
        for row_id, findings in stage.findings(prepared_by_stage).items():
            found.setdefault(row_id, []).extend(findings)
    reply_rows, audit_rows, changes, finished = [], [], [], 0
    for message in messages:
        if message.id in broken:
            continue
        error = errors.get(message.id)
        code = error.code if error else ""
        field = (getattr(error, "field", None) or "") if error else ""
        status = (MessageStatus.REJECTED if error else MessageStatus.PROCESSED).value
        if error:
            changes.append({"row_id": message.id, "status": status, "code": code, "field": field or None})
            audit_rows.append(audit.event("message.reject", member=message.member,
                                          message_id=message.message_id, code=code))
        reply_rows.append(replies.reply_row(
            member=message.member, kind="ack", in_reply_to=message.message_id, now=now,
            content=replies.acknowledgement(message_id=message.message_id, status=status, code=code,
                                            field=field, findings=() if error else found.get(message.id, ()))))
        finished += 1
    if changes:  # the claim marked every message processed; set the others
        session.execute(update(_MESSAGES).where(_MESSAGES.c.id == bindparam("row_id"))
                        .values(status=bindparam("status"), error_code=bindparam("code"),
                                error_field=bindparam("field")), changes)
    if broken:
        _put_off(session, broken, now)
    replies.queue_many(session, reply_rows)
    audit.record_many(session, audit_rows)
    return finished


__all__ = ["Stage", "PendingMessage", "PENDING", "RETRY_FIRST_S", "RETRY_MAX_S", "retry_delay", "claim", "apply_chunk"]
