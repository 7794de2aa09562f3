"""After the receipt: accepted messages are processed in the background, in batches, in order.

Processing is a list of stages (``Stage``), given by whoever runs the processor (the hub's
runtime lists them: ``hub.runtime.processing_stages``). Each stage first prepares a chunk of
messages outside any transaction (parse, validate, normalize: pure work), then applies it in the
chunk's write transaction and returns the messages it rejects, leaving nothing of theirs written.
A stage that fails unexpectedly is rolled back to a savepoint and rerun one message at a time;
the message it still fails on stays pending (a bug, not bad data) and is retried later.
Messages left accepted by a crash are picked up again the next time a processor runs (at
start-up and on every tick).

On PostgreSQL several processors may run at once: each chunk is claimed, prepared and applied in one
transaction (``hub.claimed`` says how and why).
"""
from __future__ import annotations

import gc
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from .chunks import PENDING, PendingMessage, Stage, apply_chunk, claim
from .claimed import process_claimed
from .errors import failure_summary
from .exchange import sql as statements
from .heartbeat import Heartbeat
from .store.db import transaction
from .store.rawsql import RawSql
from .store.sqlite import WalCheckpointer

log = logging.getLogger(__name__)
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


def _pending(sessions: sessionmaker[Session], limit: int) -> list[PendingMessage]:
    """PendingMessage messages due now, read without the write lock (through the driver: a batch is hundreds of rows)."""
    with sessions() as session:
        return [PendingMessage(*row) for row in statements.pending(RawSql(session), PENDING, limit, utcnow())]


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
        return process_claimed(sessions, stages, limit=limit, chunk=commit_every or CLAIM_CHUNK,
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


def _commit_chunk(sessions: sessionmaker[Session], stages: Sequence[Stage], candidates: list[PendingMessage],
                  prepared: list) -> int:
    """One write transaction: claim ``candidates``, run the stages' database work, record outcomes."""
    now = utcnow()
    # Not durable: a power loss can only roll back whole chunks, whose messages are then pending
    # again and processed again; the commit does not hold the write lock through an fsync.
    with transaction(sessions, durable=False) as session:
        claimed = claim(session, candidates, now)
        messages = [m for m in candidates if m.id in claimed]  # another process may have taken some
        return apply_chunk(session, stages, messages, prepared, now)


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
