"""The inbox's group commit: one writer thread per process, one transaction and one sync per group.

Request threads hand their submissions to the writer thread and wait (``enqueue``); the
ASGI front's event loop commits the group of one loop turn itself when SQLite's write lock is free
(``settle_now``) and hands it to the thread otherwise. On SQLite the log's fsync that makes a group
durable runs in a third thread, which answers the group's requests when it returns. What a group
stores, and what a resend gets back, is decided by ``inbox.write``.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol.errors import HubError

from ..errors import StoreError
from ..store.rawsql import RawSql
from ..store.sqlite import WalSyncer, commit_without_fsync
from . import inbox
from .inbox import Submission

log = logging.getLogger(__name__)


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
            inbox.write(sql, jobs)
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


__all__ = ["InboxWriter"]
