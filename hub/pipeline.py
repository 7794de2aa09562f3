"""After the receipt: accepted messages are processed in the background, in batches, in order.

Processing is a list of stages (``Stage``), given by whoever runs the processor (the hub's
runtime lists them: ``hub.runtime.processing_stages``). Each stage first prepares a chunk of
messages outside any transaction (parse, validate, normalize: pure work), then applies it in the
chunk's write transaction and returns the messages it rejects, leaving nothing of theirs written.
A stage that fails unexpectedly is rolled back to a savepoint and rerun one message at a time;
the message it still fails on stays pending (a bug, not bad data) and is retried later.
Messages left accepted by a crash are picked up again the next time a processor runs (at
start-up and on every tick).

On PostgreSQL several processors may run at once (``hie process`` on several machines). There is no
database-wide write lock to keep short, so a chunk is claimed, prepared and applied in one
transaction: its messages are taken with ``FOR UPDATE SKIP LOCKED`` (another processor skips them
instead of waiting, and a crash rolls the claim back: they are pending again), then the stages
declare what the chunk's database work could race on (``Stage.lock_keys``: the MPI's blocking keys,
the documents' keys) and the chunk takes all those keys as advisory locks, sorted, before any stage
applies (``hub.store.advisory``): two chunks about the same person or document run one after the
other, the second seeing what the first committed; chunks about others run side by side.
A processor paused inside a chunk (SIGSTOP, a stalled machine, a partition that leaves its connection
open) is, to PostgreSQL, idle in transaction with those locks held: each chunk's transaction sets
``idle_in_transaction_session_timeout`` (``tx_timeout_s``, HIE_PROCESSING_TX_TIMEOUT_S), so the server
ends such a session and rolls the chunk back (its messages pending again, processed once later), and
the others wait that long at most.
"""
from __future__ import annotations

import gc
import logging
import sys
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from protocol.errors import HubError
from protocol.findings import Finding
from protocol.status import MessageStatus
from protocol.timestamps import utcnow

from . import audit
from .exchange import replies
from .exchange import sql as statements
from .errors import failure_summary
from .exchange.models import Message
from .heartbeat import Heartbeat
from .store import advisory
from .store.db import transaction
from .store.rawsql import RawSql
from .store.sqlite import WalCheckpointer

log = logging.getLogger(__name__)
_MESSAGES = Message.__table__
BATCH = 500  # messages prepared together (parse, validate, normalize: ~0.1 s of work)
LIVE_COMMIT = 20  # messages per write transaction while submissions arrive (a few ms of the write lock)
# PostgreSQL: messages claimed per transaction. Row locks and advisory locks (~6 keys a message) are held
# until its commit; a chunk of 100 holds a few hundred, well inside the server's lock table
# (max_locks_per_transaction x max_connections = 6,400 by default), and another processor waiting on one
# of its keys waits for one chunk's database work at most.
CLAIM_CHUNK = 100
# PostgreSQL: the longest a chunk's transaction may sit idle between two statements (the longest gap is
# its preparation, ~20 ms for 100 messages of a few KB) before the server cuts it off; the most a paused
# processor holds the others up. Settings.processing_tx_timeout_s (HIE_PROCESSING_TX_TIMEOUT_S).
TX_TIMEOUT_S = 60.0
_PENDING = [status.value for status in MessageStatus.pending()]


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


def _run_stage(session: Session, stage: Stage, messages, now: datetime, errors: dict[int, HubError],
               broken: set[int], prepared) -> None:
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
            log.error("processing stage failed for message %s: %s", messages[0].id, type(sys.exc_info()[1]).__name__)
            broken.add(messages[0].id)
            return
    for message in messages:
        _run_stage(session, stage, [message], now, errors, broken, prepared)


class PendingMessage(NamedTuple):
    """A message to process, as read from the inbox."""

    id: int
    member: str
    message_id: str
    document: bytes
    received_at: datetime  # aware UTC: an event dated after it is in the future (hub/records/quality.py)


def _pending(sessions: sessionmaker[Session], limit: int) -> list[PendingMessage]:
    """PendingMessage messages, read without the write lock (through the driver: a batch is hundreds of rows)."""
    with sessions() as session:
        return [PendingMessage(*row) for row in statements.pending(RawSql(session), _PENDING, limit)]


def _claim(session: Session, candidates: list[PendingMessage], now: datetime) -> set[int]:
    """Mark the candidates still pending as processed; their ids (another process may have taken some)."""
    return statements.claim(RawSql(session), [m.id for m in candidates], pending=_PENDING,
                            status=MessageStatus.PROCESSED.value, now=now)


_NEWEST: "weakref.WeakKeyDictionary[object, int]" = weakref.WeakKeyDictionary()


def _arriving(sessions: sessionmaker[Session]) -> bool:
    """Whether messages arrived in the inbox since this process last looked (per database)."""
    engine = sessions.kw["bind"]
    with sessions() as session:
        newest = statements.newest_message(RawSql(session))
    previous = _NEWEST.get(engine)
    _NEWEST[engine] = newest
    return previous is not None and newest > previous


def process_pending(sessions: sessionmaker[Session], stages: Sequence[Stage], *, limit: int = BATCH,
                    commit_every: int | None = None, tx_timeout_s: float = TX_TIMEOUT_S) -> int:
    """Process up to ``limit`` pending messages; returns how many were finished.

    Work goes in chunks: the stages' pure preparation runs outside any transaction, then one write
    transaction claims the chunk's messages (only one process moves a message out of a pending
    state), runs the stages' database work and records the outcomes. With nothing arriving the
    batch is one chunk; while submissions arrive it goes ``LIVE_COMMIT`` messages at a time, so
    the write lock, which the intake's group commits wait for, is held only briefly while clinics
    wait for receipts. On PostgreSQL each chunk (``CLAIM_CHUNK``) is claimed, prepared and applied in
    one transaction instead (the module's docstring says why), cut off by the server when it sits idle
    longer than ``tx_timeout_s``.
    """
    if sessions.kw["bind"].dialect.name != "sqlite":
        return _process_claimed(sessions, stages, limit=limit, chunk=commit_every or CLAIM_CHUNK,
                                tx_timeout_s=tx_timeout_s)
    arriving = _arriving(sessions)
    candidates = _pending(sessions, limit)
    if not candidates:
        return 0
    if commit_every is None:
        # While submissions are arriving, small chunks, each prepared then committed: the write
        # lock is free while a chunk is prepared, and intake's commits never wait behind a whole
        # batch. With nothing arriving (a drain after a burst, a restart, a bulk load), one
        # transaction per batch is the fastest way through.
        commit_every = LIVE_COMMIT if arriving else limit
    finished = 0
    for start in range(0, len(candidates), commit_every):
        chunk = candidates[start:start + commit_every]
        prepared = [stage.prepare(chunk) for stage in stages]
        finished += _commit_chunk(sessions, stages, chunk, prepared)
    return finished


def _process_claimed(sessions: sessionmaker[Session], stages: Sequence[Stage], *, limit: int, chunk: int,
                     tx_timeout_s: float) -> int:
    """PostgreSQL: up to ``limit`` messages, ``chunk`` per transaction, each chunk claimed with SKIP LOCKED."""
    finished = taken = 0
    idle_limit = f"{max(1, round(tx_timeout_s * 1000))}ms"
    while taken < limit:
        now = utcnow()
        with transaction(sessions, durable=False) as session:  # not durable: see _commit_chunk
            sql = RawSql(session)
            # A processor paused from here to the commit holds its rows and keys: the server ends it.
            sql.rows("SELECT set_config('idle_in_transaction_session_timeout', ?, true)", (idle_limit,))
            messages = [PendingMessage(*row) for row in statements.claim_pending(sql, _PENDING,
                                                                                  min(chunk, limit - taken))]
            if not messages:
                break
            # Prepared inside the transaction: nothing global is held, only these rows, which the
            # other processors skip.
            prepared = [stage.prepare(messages) for stage in stages]
            advisory.hold(sql, set().union(*(stage.lock_keys(p) for stage, p in zip(stages, prepared))))
            _claim(session, messages, now)  # held since the SELECT: every one of them moves
            done = _apply_chunk(session, stages, messages, prepared, now)
        finished, taken = finished + done, taken + len(messages)
        if done < len(messages):  # one left pending (a stage's bug) would be taken again at once: next tick
            break
    return finished


def _commit_chunk(sessions: sessionmaker[Session], stages: Sequence[Stage], candidates: list[PendingMessage],
                  prepared: list) -> int:
    """One write transaction: claim ``candidates``, run the stages' database work, record outcomes."""
    now = utcnow()
    # Not durable: a power loss can only roll back whole chunks, whose messages are then pending
    # again and processed again; the commit does not hold the write lock through an fsync.
    with transaction(sessions, durable=False) as session:
        claimed = _claim(session, candidates, now)
        messages = [m for m in candidates if m.id in claimed]  # another process may have taken some
        return _apply_chunk(session, stages, messages, prepared, now)


def _apply_chunk(session: Session, stages: Sequence[Stage], messages: list[PendingMessage], prepared: list,
                 now: datetime) -> int:
    """The stages' database work on claimed ``messages`` and their outcomes, in ``session``'s transaction."""
    errors: dict[int, HubError] = {}
    broken: set[int] = set()  # a bug, not bad data: left pending to be retried, logged without content
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
            changes.append({"row_id": message.id, "status": MessageStatus.ACCEPTED.value, "code": None,
                            "field": None})
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
    replies.queue_many(session, reply_rows)
    audit.record_many(session, audit_rows)
    return finished


_heap_frozen = False


def warm_up() -> None:
    """Get a processing thread ready before its first batch: compile every document type's
    validator in this thread (they are per thread), then move everything the process holds so far
    out of the garbage collector's view (``gc.freeze``). The start-up heap (modules, schemas, code
    lists, SQLAlchemy's metadata) is 150–300k objects that never become garbage; without this, each
    full collection walks all of them (~0.2 s, measured: 8% of the processor's time)."""
    from schemas.validation import compile_all

    global _heap_frozen
    compile_all()
    if not _heap_frozen:  # once per process: what comes later is the work's, and is collected
        gc.collect()
        gc.freeze()
        _heap_frozen = True


class Processor:
    """A daemon thread that processes pending messages every ``interval`` seconds, ``batch`` at a time.

    With a ``heartbeat`` path it also writes its heartbeat there as it goes (``hub.heartbeat``):
    /healthz reads it to tell whether the processor is alive.
    """

    def __init__(self, sessions: sessionmaker[Session], stages: Sequence[Stage], *, interval: float = 0.5,
                 batch: int = BATCH, heartbeat: Path | None = None, after_tick: Callable[[int], object] | None = None,
                 tx_timeout_s: float = TX_TIMEOUT_S):
        self.sessions = sessions
        self.tx_timeout_s = tx_timeout_s
        self.after_tick = after_tick  # told how many messages each tick finished (the workflows' runner)
        self.stages = list(stages)
        self.interval = interval
        self.batch = batch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hie-processor", daemon=True)
        self._checkpointer: WalCheckpointer | None = None
        self._heartbeat = Heartbeat(heartbeat) if heartbeat is not None else None

    def _beat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.beat()

    def start(self) -> "Processor":
        if self._heartbeat is not None:
            self._heartbeat.beat(force=True)  # alive from the start, before the first batch
        # Where the processor runs, so does the SQLite log's checkpointer: off the request path.
        self._checkpointer = WalCheckpointer.start_for(self.sessions.kw["bind"])
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._heartbeat is not None and not self._thread.is_alive():
            self._heartbeat.clear()

    def _run(self) -> None:
        warm_up()
        while not self._stop.is_set():
            self._beat()
            try:
                # Straight on only after a full batch (more are waiting). After a partial one, wait:
                # under a steady stream of submissions, polling at once would commit a few messages
                # at a time, paying a transaction and the database's write lock for each handful,
                # in competition with the intake. Waiting lets ``interval`` seconds' worth gather.
                finished = done = process_pending(self.sessions, self.stages, limit=self.batch,
                                                  tx_timeout_s=self.tx_timeout_s)
                while done >= self.batch and not self._stop.is_set():
                    self._beat()
                    done = process_pending(self.sessions, self.stages, limit=self.batch,
                                           tx_timeout_s=self.tx_timeout_s)
                    finished += done
            except Exception as exc:  # keep the thread alive; the messages stay pending and are retried
                # e.g. cut off after a pause ([25P03] or a closed connection): the chunk was rolled back
                log.error("processing tick failed: %s", failure_summary(exc))
                finished = 0
            if self.after_tick is not None and not self._stop.is_set():
                try:  # after the tick's commits, outside processing's transactions
                    self.after_tick(finished)
                except Exception:
                    log.error("after-tick work failed", exc_info=False)
            self._stop.wait(self.interval)


__all__ = ["Stage", "PendingMessage", "BATCH", "LIVE_COMMIT", "CLAIM_CHUNK", "TX_TIMEOUT_S", "process_pending", "warm_up", "Processor"]
