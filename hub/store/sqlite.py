"""SQLite's part of the store: WAL and durability settings, the write lock, the log's syncer and checkpointer.

SQLite lets one writer in at a time; the hub's processes take ``SqliteWriteLock`` (a file lock)
before they write, so the intake, the processor and the checkpointer queue in a known order. A
group's commit writes the log without an fsync under the lock and ``WalSyncer`` syncs it after
the lock is released; ``WalCheckpointer`` copies the log back into the database off the commit path.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
WAL_BACKSTOP_PAGES = 16_384  # ~64 MiB of WAL before a commit checkpoints by itself
WAL_KEEP_BYTES = 64 << 20  # what a WAL file is cut back to when it restarts after a burst


def configure(engine: Engine) -> None:
    """Give a new SQLite engine its write lock and its connections WAL, synchronous=FULL and the
    checkpoint settings; a connection relaxed by ``commit_without_fsync`` is FULL again at check-in."""
    database = engine.url.database
    engine.hie_write_lock = SqliteWriteLock(f"{database}.writelock") if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we acknowledge (NORMAL may lose the last commits).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 64 MiB of page cache (SQLite's default is 2 MiB): the MPI's and the record store's
        # indexes stay in memory, which makes their random-key inserts ~20% cheaper.
        cursor.execute("PRAGMA cache_size=-65536")
        # Checkpoints are the WalCheckpointer's job, off the commit path; a commit copies the
        # WAL back into the database itself only past this backstop (SQLite's default is
        # 1,000 pages, which puts a 20–700 ms checkpoint inside one request's commit about
        # once a second at 300 documents/s, measured, while every other writer waits).
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _durable_again(dbapi_connection, record):
        if dbapi_connection is not None and record is not None and record.info.pop("hie_relaxed", False):
            dbapi_connection.execute("PRAGMA synchronous=FULL")


class SqliteWriteLock:
    """Serializes write transactions on one SQLite file across threads and processes.

    SQLite's own busy handler makes a waiting writer sleep in growing steps (1, 2, 5, 10 … ms),
    which with two hub processes costs more than the writes themselves; a blocking flock wakes
    the next writer the moment the lock is free. Re-entrant within a thread, so a caller that took
    it with ``try_acquire`` can run code that takes it again.
    """

    def __init__(self, path: str):
        self._path = path
        self._threads = threading.RLock()
        self._depth = 0  # how many times the owning thread holds it
        self._fd: int | None = None

    def _enter(self, blocking: bool) -> bool:
        if not self._threads.acquire(blocking):
            return False
        if self._depth:
            self._depth += 1
            return True
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._threads.release()
                return False
        except BaseException:
            self._threads.release()
            raise
        self._depth = 1
        return True

    def try_acquire(self) -> bool:
        """Take the lock if no one holds it; never waits."""
        return self._enter(blocking=False)

    def release(self) -> None:
        self._depth -= 1
        try:
            if not self._depth:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self):
        self._enter(blocking=True)
        return self

    def __exit__(self, *exc):
        self.release()


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database in the background.

    Left to SQLite, the commit that crosses the auto-checkpoint threshold does it, inside the
    hub's write lock: the request that happens to commit then waits for the copy and its fsync,
    and every other writer waits for that request. Here a thread does it in two steps:

    1. every ``interval`` seconds, a PASSIVE checkpoint without the lock: it copies what is
       committed while the writers go on appending;
    2. once the log holds ``restart_pages``, a RESTART checkpoint under the write lock. Only the
       frames appended since step 1 are left to copy, with an fsync of the database (measured
       under load at 300 documents/s: 14 ms median, 63 ms at worst), and the next writer starts the
       log from its beginning again. Without this step, under a steady stream of commits, the log
       is seldom restarted (measured: 15,000 frames, all copied, still in use) and keeps growing.

    A checkpoint copies only committed frames, so it never weakens a commit's durability. Several
    checkpointers on one database (one per process) take turns: SQLite lets one run at a time and
    a checkpoint that finds another running returns at once.
    """

    def __init__(self, engine: Engine, *, interval: float = 0.2, restart_pages: int = 2048):
        self.engine = engine
        self.interval = interval
        self.restart_pages = restart_pages
        self._restarted_at: int | None = None  # the log's size when step 2 last finished it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hie-wal-checkpoint", daemon=True)

    @classmethod
    def start_for(cls, engine: Engine, **kwargs) -> "WalCheckpointer | None":
        """A started checkpointer when ``engine`` is a SQLite file; None otherwise."""
        if getattr(engine, "hie_write_lock", None) is None:
            return None
        checkpointer = cls(engine, **kwargs)
        checkpointer._thread.start()
        return checkpointer

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def connect(self) -> sqlite3.Connection:
        """The checkpointer's own connection, which never waits: not the pool's (busy timeout 30 s).
        Holding the write lock, step 2 must not wait for a reader still on the log (an ETL run's
        read, say); it returns, and the restart is tried again the next round."""
        return sqlite3.connect(self.engine.url.database, timeout=0, isolation_level=None, check_same_thread=False)

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int]:
        """One round of both steps; returns (frames in the log, frames copied) after it."""
        _busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        # The log restarts with the next write: until then an idle hub's log looks the same, and
        # step 2 is not run again for it.
        if frames >= self.restart_pages and frames != self._restarted_at:
            with self.engine.hie_write_lock:
                busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self._restarted_at = frames if not busy else None
        return frames, copied

    def _run(self) -> None:
        connection = None
        while not self._stop.wait(self.interval):
            try:
                connection = connection or self.connect()
                self.checkpoint(connection)
            except Exception as exc:  # the backstop still bounds the log; say what failed, no more
                log.warning("WAL checkpoint failed: %s", type(exc).__name__)
        if connection is not None:
            connection.close()


class WalSyncer:
    """Makes SQLite commits durable after the write lock is released: an fsync of the log.

    With ``synchronous=FULL`` a commit fsyncs the write-ahead log while it holds the write lock,
    so every other writer (the other worker, the processor) waits for the disk too; on this
    machine's disk one fsync in a few thousand, or in a few hundred at a bad hour, takes 50–800
    ms (measured with nothing else running), and the writers queued behind it each add their own.
    A commit becomes visible to readers (the processor, ``GetStatus``) about a millisecond before
    it is on disk; a power loss in that window loses it together with anything derived from it,
    and its member, never answered, sends it again. The intake instead
    commits with ``synchronous=NORMAL`` (the log is written, not synced), releases the lock and
    calls ``sync``: ``fdatasync`` on the log, which makes this commit and every one before it
    durable. Nothing is acknowledged before its sync returned, so this is as durable as ``FULL``;
    what changes is that the writers no longer queue behind each other's disk waits.

    The log's frames carry a checksum chained from the first, so a power loss before a sync
    loses a suffix of commits and never corrupts the database (SQLite's guarantee for ``NORMAL``
    in WAL mode); a checkpoint syncs the log itself before it copies frames into the database.
    After a failed ``fdatasync`` Linux may report later ones as successful without the data on
    disk, so the first failure is final: every later sync fails until the process restarts.
    """

    def __init__(self, database: str, *, sync: Callable[[int], None] = os.fdatasync):
        self.database = database
        self.wal = f"{database}-wal"
        self._sync = sync
        self._fd: int | None = None
        self._failed = False
        self._lock = threading.Lock()  # one sync at a time: the descriptor may be replaced

    @classmethod
    def for_engine(cls, engine: Engine) -> "WalSyncer | None":
        """The syncer of a SQLite file engine (one per engine and process); None otherwise."""
        if getattr(engine, "hie_write_lock", None) is None:
            return None
        with _SYNCERS_LOCK:
            syncer = getattr(engine, "hie_wal_syncer", None)
            if syncer is None:
                syncer = engine.hie_wal_syncer = cls(engine.url.database)
            return syncer

    def sync(self) -> bool:
        """Whether everything committed before this call is now on disk."""
        with self._lock:
            if self._failed:
                return False
            try:
                self._sync(self._log_fd())
                return True
            except OSError as exc:
                self._failed = True
                log.critical("fdatasync of the SQLite log failed (%s): refusing every commit until restarted",
                             type(exc).__name__)
                return False

    def _log_fd(self) -> int:
        """A descriptor of the current log file (SQLite deletes it when its last connection closes,
        after copying it into the database; then the database file is what to sync)."""
        try:
            current = os.stat(self.wal).st_ino
        except FileNotFoundError:
            self._close()
            self._fd = os.open(self.database, os.O_RDONLY)
            return self._fd
        if self._fd is not None and os.fstat(self._fd).st_ino != current:
            self._close()
        if self._fd is None:
            self._fd = os.open(self.wal, os.O_RDONLY)
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_SYNCERS_LOCK = threading.Lock()


def commit_without_fsync(driver_connection: sqlite3.Connection, info: dict) -> None:
    """Let a pooled SQLite connection's next commits skip the fsync (``synchronous=NORMAL``); it is
    set back to ``FULL`` when the pool gets the connection back. ``info`` is the pool's record of it
    (``Connection.info``, or a raw connection's ``.info``)."""
    driver_connection.execute("PRAGMA synchronous=NORMAL")
    info["hie_relaxed"] = True


__all__ = ["configure", "commit_without_fsync", "SqliteWriteLock", "WalCheckpointer", "WalSyncer",
           "WAL_BACKSTOP_PAGES", "WAL_KEEP_BYTES"]
