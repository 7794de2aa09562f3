"""Engines for the OLTP store: SQLite (WAL, full fsync) by default, PostgreSQL by URL."""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, synchronous=FULL (durable commits) and a busy timeout.

    SQL parameters are hidden from error messages: they hold documents and patient data, and
    error messages end up in logs.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

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
            cursor.close()

        @event.listens_for(engine, "checkin")
        def _durable_again(dbapi_connection, record):
            if dbapi_connection is not None and record is not None and record.info.pop("hie_relaxed", False):
                dbapi_connection.execute("PRAGMA synchronous=FULL")

        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    engine.hie_write_lock = None  # PostgreSQL queues writers itself
    return engine


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


@contextmanager
def transaction(sessions: sessionmaker[Session], *, durable: bool = True):
    """A write transaction: one writer at a time on SQLite, committed on exit (rolled back on error).

    ``durable=False`` is for work that may be redone: its commit does not wait for the disk
    (SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``). A power loss can then
    roll back whole such transactions, never corrupt or split one; and the next durable commit
    makes everything before it durable too, so nothing another request has seen can be lost.
    """
    lock = getattr(sessions.kw["bind"], "hie_write_lock", None)
    with lock or nullcontext(), sessions() as session, session.begin():
        if not durable:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
                connection.info["hie_relaxed"] = True  # set back to FULL when the pool gets it back
            else:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield session


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (alembic)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


__all__ = ["transaction", "SqliteWriteLock", "make_engine", "session_factory", "migrate", "downgrade", "sqlite_url"]
