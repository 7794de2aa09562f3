"""The durable inbox: documents are committed (with their raw signed envelope) before any receipt.

A resend of the same (sender, MessageID) with the same document gets its original receipt back
and stores nothing; the same MessageID with a different document is refused.

Writes go through one ``InboxWriter`` per process, in groups (one transaction, one durable fsync
for every request that arrived meanwhile). Request threads hand their documents to its thread and
wait (``accept``, ``enqueue``); the ASGI front's event loop commits the group of one loop turn
itself when SQLite's write lock is free (``settle_now``) and hands it to the thread otherwise.
On SQLite the log's fsync that makes a group durable runs in a third thread, which answers the
group's requests when it returns. Receipts are signed before the transaction, outside the lock.
"""
from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol.errors import HubError
from hub.errors import StoreError
from ..store.db import WalSyncer, commit_without_fsync
from ..store.rawsql import RawSql, placeholders
from ..store.models import Message, MessageStatus
from protocol.credentials import Credentials
from .. import audit
from .gate import VerifiedMessage
from protocol.receipts import ReceiptStatus, build_receipt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentItem:
    """One document of a request, as the gate returned it."""

    message_id: str
    document: etree._Element

    @property
    def canonical(self) -> bytes:
        return etree.tostring(self.document, method="c14n", exclusive=True, with_comments=False)


@dataclass(frozen=True)
class ItemOutcome:
    message_id: str
    receipt: bytes
    status: str  # "accepted", "duplicate", "rejected"
    code: str = ""


@dataclass
class _Prepared:
    message_id: str
    document_type: str
    canonical: bytes
    digest: str
    receipt: bytes  # the accepted receipt, signed in advance (unused if the item is a resend)
    code: str = ""  # refused before the transaction (not canonicalizable): stored never, audited, answered


@dataclass
class Submission:
    """One request's documents on their way through the group commit."""

    verified: VerifiedMessage
    items: list[_Prepared]
    client_address: str | None
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: list | None = None
    error: HubError | None = None
    on_done: Callable[[], None] | None = None


def _prepare(verified: VerifiedMessage, items: list[DocumentItem], signer: Credentials) -> list[_Prepared]:
    prepared = []
    for item in items:
        try:
            canonical = item.canonical
        except etree.C14NError:  # e.g. a relative namespace URI: refused alone, the batch goes on
            prepared.append(_Prepared(item.message_id, "", b"", "", b"", code="exchange.document.invalid"))
            continue
        digest = hashlib.sha256(canonical).hexdigest()
        receipt = build_receipt(signer=signer, message_id=item.message_id, sender=verified.sender,
                                message_sha256=verified.envelope_sha256, document_sha256=digest,
                                received_at=verified.received_at, status=ReceiptStatus.ACCEPTED)
        prepared.append(_Prepared(item.message_id, etree.QName(item.document).localname, canonical, digest, receipt))
    return prepared


_INSERT_ENVELOPE = ("INSERT INTO inbox_envelope (sha256, sender, cert_serial, wsa_message_id, action, received_at, "
                    "client_address, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_MESSAGE = ("INSERT INTO inbox_message (sender, message_id, envelope_id, item_index, document_type, "
                   "document_sha256, document, status, error_code, received_at, updated_at, receipt) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)")


def _known(sql: RawSql, jobs: list[Submission]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """(sender, message_id) → (document digest, receipt) of the group's keys already stored."""
    wanted: dict[str, set[str]] = {}
    for job in jobs:
        wanted.setdefault(job.verified.sender, set()).update(item.message_id for item in job.items)
    known = {}
    for sender, ids in wanted.items():
        ids = sorted(ids)
        for message_id, digest, receipt in sql.rows(
                "SELECT message_id, document_sha256, receipt FROM inbox_message WHERE sender = ? AND message_id IN ("
                + placeholders(len(ids)) + ")", (sender, *ids)):
            known[(sender, message_id)] = (digest, bytes(receipt))
    return known


def _write(sql: RawSql, jobs: list[Submission]) -> None:
    """Store every job's new documents in the current transaction; fill in their outcomes."""
    known = _known(sql, jobs)
    messages, events = [], []
    for job in jobs:
        verified, outcomes, envelope_id = job.verified, [], None
        received = sql.time(verified.received_at)
        for index, item in enumerate(job.items):
            if item.code:
                outcomes.append(ItemOutcome(item.message_id, b"", "rejected", item.code))
                events.append(("message.reject", job, item.message_id, item.code))
                continue
            key = (verified.sender, item.message_id)
            if key in known:
                digest, receipt = known[key]
                if digest == item.digest:
                    outcomes.append(ItemOutcome(item.message_id, receipt, "duplicate"))
                    events.append(("message.duplicate", job, item.message_id, None))
                else:
                    outcomes.append(ItemOutcome(item.message_id, b"", "rejected", "exchange.message_id.reused"))
                    events.append(("message.reject", job, item.message_id, "exchange.message_id.reused"))
                continue
            if envelope_id is None:
                envelope_id = sql.insert_id(_INSERT_ENVELOPE, (
                    verified.envelope_sha256, verified.sender, verified.request.sender.serial_hex,
                    verified.request.message_id, verified.request.action, received, job.client_address, verified.raw))
            messages.append((verified.sender, item.message_id, envelope_id, index, item.document_type, item.digest,
                             item.canonical, MessageStatus.ACCEPTED.value, received, received, item.receipt))
            known[key] = (item.digest, item.receipt)
            outcomes.append(ItemOutcome(item.message_id, item.receipt, "accepted"))
            events.append(("message.accept", job, item.message_id, None))
        job.outcomes = outcomes
    sql.many(_INSERT_MESSAGE, messages)
    audit.insert_raw(sql, [audit.event(kind, verified=job.verified, message_id=message_id, code=code,
                                       client_address=job.client_address)
                           for kind, job, message_id, code in events])


@contextmanager
def _driver_transaction(engine: Engine, *, synced_later: bool = False) -> Iterator[RawSql]:
    """A write transaction on a pooled driver connection, under the hub's SQLite write lock.

    The group commit's statements are all plain SQL: an ORM session around them cost the
    writer more CPU than SQLite's own work for a group (its set-up, connection events, commit and
    close bookkeeping). ``synced_later``: the commit only writes SQLite's log; the caller has it
    synced (``WalSyncer``) before anyone is told.
    """
    with getattr(engine, "hie_write_lock", None) or nullcontext():
        connection = engine.raw_connection()
        try:
            sql = RawSql.on_driver(engine.dialect, connection.driver_connection)
            if sql.sqlite:
                if synced_later:
                    commit_without_fsync(connection.driver_connection, connection.info)
                sql.execute("BEGIN IMMEDIATE")  # the known-keys read and the inserts: one snapshot
            try:
                yield sql
                connection.commit()
            except BaseException:
                try:
                    connection.rollback()
                except Exception:  # a broken connection: the pool must not hand it out again
                    connection.invalidate()
                raise
        finally:
            connection.close()  # back to the pool


def _commit(engine: Engine, jobs: list[Submission], *, synced_later: bool) -> None:
    """One transaction for ``jobs``; on a unique-key race retry them one by one."""
    try:
        with _driver_transaction(engine, synced_later=synced_later) as sql:
            _write(sql, jobs)
        return
    except IntegrityError:
        if len(jobs) == 1:
            raise
    for job in jobs:  # another process stored one of these keys meanwhile: settle each alone
        _commit(engine, [job], synced_later=synced_later)


class InboxWriter:
    """Group commit of accepted documents for one process.

    On SQLite a group's transaction is committed under the write lock without an fsync; the lock
    is released, then the ``WalSyncer`` syncs the log, and only then are the group's requests
    answered: the other writers never wait for this one's disk (see ``WalSyncer``). The sync runs
    in the ``hie-inbox-sync`` thread, so neither the committing event loop nor the writer thread
    waits for the disk either (``_to_disk``).
    """

    def __init__(self, sessions: sessionmaker[Session], *, max_group: int = 64):
        self.sessions = sessions
        self.engine: Engine = sessions.kw["bind"]
        self.max_group = max_group
        self.syncer = WalSyncer.for_engine(self.engine)
        self._queue: queue.SimpleQueue[Submission] = queue.SimpleQueue()
        self._committed: queue.SimpleQueue[list[Submission]] = queue.SimpleQueue()  # groups awaiting a sync
        self._sync_thread: threading.Thread | None = None
        self._sync_thread_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="hie-inbox-writer", daemon=True)
        self._thread.start()

    def accept(self, *, verified: VerifiedMessage, items: list[DocumentItem], signer: Credentials,
               client_address: str | None) -> list[ItemOutcome]:
        """Store new documents durably, then return a receipt per item (original ones for resends)."""
        job = self.prepare(verified=verified, items=items, signer=signer, client_address=client_address)
        self.enqueue([job])
        job.done.wait()
        return self.outcomes(job, signer)

    @staticmethod
    def prepare(*, verified: VerifiedMessage, items: list[DocumentItem], signer: Credentials,
                client_address: str | None) -> Submission:
        """A submission ready to commit: canonical documents, digests and signed receipts."""
        return Submission(verified, _prepare(verified, items, signer), client_address)

    def enqueue(self, jobs: list[Submission]) -> None:
        """Hand jobs to the writer thread's next group commit. Each job's ``done`` is set, and its
        ``on_done`` called from another thread (an event loop's ``call_soon_threadsafe``, say), once
        settled: committed and on disk, or failed."""
        for job in jobs:
            self._queue.put(job)

    def settle_now(self, jobs: list[Submission]) -> bool:
        """Commit ``jobs`` in the calling thread if the database's write lock is free this instant.

        False, with nothing done, when it is held (by the other worker, the processor …) or when
        the store has no such lock (PostgreSQL, whose round trips are better waited for in the
        writer thread). The event loop commits the submissions of one turn this way: no hand-over
        to a second thread, whose GIL ping-pong with the loop cost more CPU than the commit.
        True: committed (or failed); as with ``enqueue``, each job's ``done`` and ``on_done``
        follow from the sync thread once the commit is on disk.
        """
        lock = getattr(self.engine, "hie_write_lock", None)
        if lock is None or not lock.try_acquire():
            return False
        try:
            self._commit_group(jobs)
        finally:
            lock.release()
        self._to_disk(jobs)
        return True

    @staticmethod
    def outcomes(job: Submission, signer: Credentials) -> list[ItemOutcome]:
        """A settled job's receipt per item; raises its error when the commit failed."""
        if job.error is not None:
            raise job.error
        return [outcome if outcome.status != "rejected" else _rejected(outcome, job.verified, item, signer)
                for outcome, item in zip(job.outcomes, job.items)]

    def _run(self) -> None:
        # The group is gathered once the write lock is held: what arrives while the writer waits
        # for it (behind the processor's chunk, a checkpoint, the other worker) joins this commit
        # and its sync, instead of queueing for a lock turn and a sync of its own after them.
        lock = getattr(self.engine, "hie_write_lock", None) or nullcontext()
        while True:
            jobs = [self._queue.get()]
            with lock:
                while len(jobs) < self.max_group:
                    try:
                        jobs.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                self._commit_group(jobs)
            self._to_disk(jobs)

    def _to_disk(self, jobs: list[Submission]) -> None:
        """After a group's commit: its sync, off the committing thread.

        The fdatasync is left to a thread of its own, so the event loop (or the writer) goes on
        gating and committing while the disk works: under a slow sync the requests arriving
        meanwhile are verified, decrypted and committed, and the next sync covers them all,
        instead of waiting unread until the loop is free again. Without a syncer (PostgreSQL:
        its commit is durable) the jobs are settled at once.
        """
        if self.syncer is None:
            self._make_durable(jobs)
            return
        if self._sync_thread is None:
            with self._sync_thread_lock:
                if self._sync_thread is None:
                    self._sync_thread = threading.Thread(target=self._sync_run, name="hie-inbox-sync", daemon=True)
                    self._sync_thread.start()
        self._committed.put(jobs)

    def _sync_run(self) -> None:
        while True:
            jobs = self._committed.get()  # a group committed before this sync starts: covered by it
            while True:
                try:
                    jobs = jobs + self._committed.get_nowait()
                except queue.Empty:
                    break
            self._make_durable(jobs)

    def _commit_group(self, jobs: list[Submission]) -> None:
        """Commit the group's transaction (on SQLite, not yet synced); on failure, each job's error."""
        try:
            for attempt in range(3):
                try:
                    _commit(self.engine, jobs, synced_later=self.syncer is not None)
                    break
                except IntegrityError:
                    continue  # a concurrent resend of the same key won: the next pass finds it
            else:
                raise StoreError("server.unavailable", "could not settle concurrent submissions")
        except HubError as exc:
            for job in jobs:
                job.error = exc
        except SQLAlchemyError:
            for job in jobs:
                job.error = StoreError("server.unavailable", "database write failed")
        except Exception:  # never leave a request waiting forever
            for job in jobs:
                job.error = StoreError("server.unavailable", "inbox writer failure")

    def _make_durable(self, jobs: list[Submission]) -> None:
        """Sync SQLite's log (outside the write lock), then let the waiting requests answer.

        Duplicates wait for it too: the original they are answered from may not be on disk yet.
        """
        if self.syncer is not None and any(job.error is None for job in jobs) and not self.syncer.sync():
            for job in jobs:
                job.error = job.error or StoreError("server.unavailable", "database write failed")
        for job in jobs:
            job.done.set()
            if job.on_done is not None:
                try:
                    job.on_done()
                except Exception:  # e.g. the waiting event loop is gone: the others must still hear
                    log.error("inbox writer: a completion callback failed")


def _rejected(outcome: ItemOutcome, verified: VerifiedMessage, item: _Prepared, signer: Credentials) -> ItemOutcome:
    receipt = build_receipt(signer=signer, message_id=item.message_id, sender=verified.sender,
                            message_sha256=verified.envelope_sha256, document_sha256=item.digest,
                            received_at=verified.received_at, status=ReceiptStatus.REJECTED, code=outcome.code)
    return ItemOutcome(outcome.message_id, receipt, outcome.status, outcome.code)


def status_of(sessions: sessionmaker[Session], *, sender: str, message_id: str) -> Message | None:
    """The sender's own message by MessageID (None if unknown)."""
    with sessions() as session:
        return session.scalars(select(Message).where(Message.sender == sender,
                                                     Message.message_id == message_id)).first()


__all__ = ["DocumentItem", "ItemOutcome", "InboxWriter", "Submission", "status_of"]
