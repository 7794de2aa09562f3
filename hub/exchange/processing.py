"""After the receipt: accepted messages are processed in the background, in batches, in order.

A stage is ``stage(session, message)``; it may raise ``HubError`` to reject the message (its
work is rolled back to a savepoint). Later issues add normalization stages to ``STAGES``.
Messages left accepted by a crash are picked up again the next time a processor runs (at
start-up and on every tick). Each batch is one transaction: one durable commit per batch.
"""
from __future__ import annotations

import logging
import sys
import threading
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import HubError
from ..store.db import transaction
from ..store.models import Message, MessageStatus
from ..wssec.timestamps import utcnow
from . import audit, replies

log = logging.getLogger(__name__)
Stage = Callable[[Session, Message], None]
_MESSAGES = Message.__table__
_PENDING = [status.value for status in MessageStatus.pending()]


def accept_well_formed(session: Session, message: Message) -> None:
    """Until the health-record store defines document types, any well-formed document passes."""


STAGES: list[Stage] = [accept_well_formed]


def process_pending(sessions: sessionmaker[Session], *, stages: list[Stage] | None = None, limit: int = 200) -> int:
    """Process up to ``limit`` pending messages in one transaction; returns how many were finished."""
    stages = STAGES if stages is None else stages
    now = utcnow()
    with transaction(sessions) as session:
        ids = session.scalars(select(_MESSAGES.c.id).where(_MESSAGES.c.status.in_(_PENDING))
                              .order_by(_MESSAGES.c.id).limit(limit)).all()
        if not ids:
            return 0
        # Claim: only one process moves a message out of a pending state.
        claimed = session.scalars(update(_MESSAGES).where(_MESSAGES.c.id.in_(ids), _MESSAGES.c.status.in_(_PENDING))
                                  .values(status=MessageStatus.PROCESSED.value, updated_at=now)
                                  .returning(_MESSAGES.c.id)).all()
        messages = session.scalars(select(Message).where(Message.id.in_(claimed)).order_by(Message.id)).all()
        reply_rows, audit_rows, finished = [], [], 0
        for message in messages:
            status, code = MessageStatus.PROCESSED, ""
            try:
                with session.begin_nested():
                    for stage in stages:
                        stage(session, message)
            except HubError as exc:
                status, code = MessageStatus.REJECTED, exc.code
                audit_rows.append(audit.event("message.reject", actor_org=message.sender,
                                              message_id=message.message_id, code=code))
            except Exception:  # a bug, not bad data: leave it pending to be retried, log without content
                log.error("processing stage failed for message %s: %s", message.id, type(sys.exc_info()[1]).__name__)
                message.status = MessageStatus.ACCEPTED.value
                continue
            message.status, message.error_code = status.value, code or None
            reply_rows.append(replies.reply_row(
                recipient=message.sender, kind="ack", in_reply_to=message.message_id, now=now,
                content=replies.acknowledgement(message_id=message.message_id, status=status.value, code=code)))
            finished += 1
        replies.queue_many(session, reply_rows)
        audit.record_many(session, audit_rows)
    return finished


class Processor:
    """A daemon thread that processes pending messages every ``interval`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], *, interval: float = 0.5):
        self.sessions = sessions
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hie-processor", daemon=True)

    def start(self) -> "Processor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while process_pending(self.sessions) and not self._stop.is_set():
                    pass
            except Exception:  # keep the thread alive; the messages stay pending and are retried
                log.error("processing tick failed", exc_info=False)
            self._stop.wait(self.interval)


__all__ = ["Stage", "STAGES", "process_pending", "Processor", "accept_well_formed"]
