"""After the receipt: accepted messages are processed in the background, in order.

A stage is ``stage(session, message)``; it may raise ``HubError`` to reject the message. Later
issues add normalization stages to ``STAGES``. Messages left accepted by a crash are picked up
again the next time a processor runs (at start-up and on every tick).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import HubError
from ..store.models import Message, MessageStatus
from ..wssec.timestamps import utcnow
from . import audit, replies

log = logging.getLogger(__name__)
Stage = Callable[[Session, Message], None]


def accept_well_formed(session: Session, message: Message) -> None:
    """Until the health-record store defines document types, any well-formed document passes."""


STAGES: list[Stage] = [accept_well_formed]


def process_pending(sessions: sessionmaker[Session], *, stages: list[Stage] | None = None, limit: int = 200) -> int:
    """Process up to ``limit`` pending messages; returns how many were finished."""
    stages = STAGES if stages is None else stages
    with sessions() as session:
        ids = session.scalars(select(Message.id).where(Message.status.in_([s.value for s in MessageStatus.pending()]))
                              .order_by(Message.id).limit(limit)).all()
    done = 0
    for message_id in ids:
        with sessions() as session, session.begin():
            # Claim: only one process moves a message out of a pending state.
            now = utcnow()
            claimed = session.execute(update(Message).where(
                Message.id == message_id, Message.status.in_([s.value for s in MessageStatus.pending()]))
                .values(status=MessageStatus.PROCESSED.value, updated_at=now)).rowcount
            if not claimed:
                continue
            message = session.get(Message, message_id)
            status, code = MessageStatus.PROCESSED, ""
            try:
                with session.begin_nested():
                    for stage in stages:
                        stage(session, message)
            except HubError as exc:
                status, code = MessageStatus.REJECTED, exc.code
                message.status, message.error_code = status.value, code
                audit.record(session, "message.reject", actor_org=message.sender, message_id=message.message_id,
                             code=code)
            replies.queue(session, recipient=message.sender, kind="ack", in_reply_to=message.message_id,
                          content=replies.acknowledgement(message_id=message.message_id, status=status.value,
                                                          code=code), now=now)
            done += 1
    return done


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
            except Exception:  # keep the thread alive; the message stays pending and is retried
                log.exception("processing tick failed")
            self._stop.wait(self.interval)


__all__ = ["Stage", "STAGES", "process_pending", "Processor", "accept_well_formed"]
