"""SQLite's write-ahead log is checkpointed off the commit path (``WalCheckpointer``)."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from hub.pipeline import Processor
from hub.runtime import processing_stages
from hub.store.db import make_engine, session_factory, sqlite_url, transaction
from hub.store.sqlite import WAL_BACKSTOP_PAGES, WalCheckpointer


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(sqlite_url(tmp_path / "hub.db"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"))
    yield engine
    engine.dispose()


class _Writer:
    """Commits 8 KiB rows one transaction at a time, the way intake does, until stopped."""

    def __init__(self, engine):
        self.sessions = session_factory(engine)
        self.stop = threading.Event()
        self.rows = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            with transaction(self.sessions) as session:
                session.execute(text("INSERT INTO t (body) VALUES (:body)"), {"body": bytes(8192)})
            self.rows += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def _commit_rows(engine, rows: int) -> int:
    """Commit at least ``rows`` rows through the writer; how many it committed."""
    with _Writer(engine) as writer:
        while writer.rows < rows:
            time.sleep(0.01)
    return writer.rows


def test_commits_leave_checkpoints_to_the_checkpointer(engine):
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_BACKSTOP_PAGES


def test_log_restarts_under_a_steady_stream_of_commits(engine):
    checkpointer = WalCheckpointer(engine, restart_pages=200)
    connection = checkpointer.connect()
    rounds = []
    with _Writer(engine) as writer:
        while len(rounds) < 40 or writer.rows < 500:
            time.sleep(0.02)
            rounds.append(checkpointer.checkpoint(connection))
            assert len(rounds) < 2000, "the writer made no progress"
    connection.close()
    frames = [frames for frames, _copied in rounds]
    # Each time the log reached restart_pages, step 2 copied it all and the log began again.
    restarts = sum(1 for before, after in zip(frames, frames[1:]) if after < before)
    assert restarts >= 2, frames
    assert all(copied == frames for frames, copied in rounds if frames >= 200), rounds
    # Never far past the restart point (rows are ~3 pages each; the writer commits between rounds).
    assert max(frames) < 200 + 3 * max(writer.rows, 1), frames
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == writer.rows


def test_a_reader_on_the_log_never_keeps_the_write_lock_held(engine):
    committed = _commit_rows(engine, 100)
    reader = sqlite3.connect(engine.url.database, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == committed  # a snapshot in the log
    _commit_rows(engine, 50)
    checkpointer = WalCheckpointer(engine, restart_pages=1)
    connection = checkpointer.connect()
    began = time.monotonic()
    frames, copied = checkpointer.checkpoint(connection)
    assert time.monotonic() - began < 1.0  # the pool's connections would have waited up to 30 s
    assert copied < frames  # what the reader may still need stays in the log
    assert engine.hie_write_lock.try_acquire()
    engine.hie_write_lock.release()
    reader.execute("COMMIT")
    reader.close()
    frames, copied = checkpointer.checkpoint(connection)  # reader gone: all copied ...
    assert frames == copied > 0
    with transaction(session_factory(engine)) as session:
        session.execute(text("INSERT INTO t (body) VALUES (x'00')"))
    assert connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] < 10  # ... and the log began again
    connection.close()


def test_the_restart_step_waits_for_the_write_lock(engine):
    _commit_rows(engine, 50)
    checkpointer = WalCheckpointer(engine, restart_pages=1)
    connection = checkpointer.connect()
    done = threading.Event()
    holder = threading.Thread(target=lambda: (checkpointer.checkpoint(connection), done.set()), daemon=True)
    with engine.hie_write_lock:  # a writer's transaction in progress
        holder.start()
        assert not done.wait(0.3)  # step 1 ran; step 2 waits for the writer to finish
    assert done.wait(5)
    holder.join()
    done.clear()
    again = threading.Thread(target=lambda: (checkpointer.checkpoint(connection), done.set()), daemon=True)
    with engine.hie_write_lock:  # nothing written since: no second restart, so no need for the lock
        again.start()
        assert done.wait(5)
    again.join()
    connection.close()


def test_the_processor_runs_a_checkpointer_on_sqlite_only(engine, tmp_path):
    processor = Processor(session_factory(engine), processing_stages(), interval=0.05).start()
    try:
        assert isinstance(processor._checkpointer, WalCheckpointer)
    finally:
        processor.stop()
    assert not processor._checkpointer._thread.is_alive()
    assert WalCheckpointer.start_for(make_engine("postgresql+psycopg://hie@127.0.0.1:1/none")) is None
