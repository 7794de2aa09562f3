"""Write transactions: the non-durable kind (the processor's) and the hub's SQLite write lock."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from hub.store.db import make_engine, session_factory, transaction
from hub.store.sqlite import SqliteWriteLock
from tests.support.migrated import copy_migrated


@pytest.fixture
def sessions(request, db_url):
    copy_migrated(request, db_url)  # a copy of the session's migrated database, not migrated again
    engine = make_engine(db_url, pool_size=1, max_overflow=0)  # one connection: the test sees it reused
    yield session_factory(engine)
    engine.dispose()


def _sync_setting(session) -> str:
    if session.bind.dialect.name == "sqlite":
        return {0: "off", 1: "normal", 2: "full", 3: "extra"}[session.execute(text("PRAGMA synchronous")).scalar()]
    return session.execute(text("SHOW synchronous_commit")).scalar()


def test_non_durable_transaction_relaxes_only_itself(sessions):
    sqlite = sessions.kw["bind"].dialect.name == "sqlite"
    durable, relaxed = ("full", "normal") if sqlite else ("on", "off")
    with transaction(sessions) as session:
        assert _sync_setting(session) == durable
    with transaction(sessions, durable=False) as session:
        assert _sync_setting(session) == relaxed
    for _ in range(2):  # the same pooled connection again: durable as before
        with transaction(sessions) as session:
            assert _sync_setting(session) == durable
        with sessions() as session:
            assert _sync_setting(session) == durable


def test_non_durable_transaction_restores_after_a_failure(sessions):
    with pytest.raises(RuntimeError):
        with transaction(sessions, durable=False):
            raise RuntimeError("rolled back")
    with transaction(sessions) as session:
        assert _sync_setting(session) in ("full", "on")


def test_write_lock_try_acquire_and_reentry(tmp_path):
    lock, other = SqliteWriteLock(str(tmp_path / "x.writelock")), SqliteWriteLock(str(tmp_path / "x.writelock"))
    assert lock.try_acquire()
    with lock:  # re-entrant in the owning thread
        pass
    taken = []
    thread = threading.Thread(target=lambda: taken.append(lock.try_acquire()))
    thread.start()
    thread.join()
    assert taken == [False]  # another thread of this process
    assert not other.try_acquire()  # another holder of the file (flock, as another process would)
    lock.release()
    assert other.try_acquire()
    other.release()
