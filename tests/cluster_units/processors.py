"""Several processors on one PostgreSQL, in threads of one test: a migrated store, a stage that holds
its chunk's transaction open until told, and a way to see that another processor is waiting on a lock."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from hub import pipeline
from hub.exchange.models import Message, Reply
from hub.records.stage import RecordsStage
from hub.store.db import make_engine, session_factory
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated

ON_POSTGRES = [pytest.mark.postgres, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def on_postgres(test):
    """Run ``test`` (which uses ``store``) on the suite's PostgreSQL only."""
    for mark in reversed(ON_POSTGRES):
        test = mark(test)
    return test


@pytest.fixture
def store(request, db_url):
    """A migrated, empty hub store on the suite's PostgreSQL (``tests.support.inbox.Store``)."""
    copy_migrated(request, db_url)
    engine = make_engine(db_url)
    try:
        yield Store(session_factory(engine))
    finally:
        engine.dispose()


class Hold(pipeline.Stage):
    """A stage that keeps its chunk's transaction open, after the stages before it, until released."""

    def __init__(self):
        self.reached = threading.Event()
        self.release = threading.Event()
        self.backend_pid: int | None = None
        self.messages: list[int] = []

    def apply(self, session, messages, now, prepared):
        self.messages += [m.id for m in messages]
        self.backend_pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        self.reached.set()
        self.release.wait(60)
        return {}


class Seen(pipeline.Stage):
    """A stage that only notes the messages it was given."""

    def __init__(self):
        self.messages: list[int] = []

    def apply(self, session, messages, now, prepared):
        self.messages += [m.id for m in messages]
        return {}


class Worker(threading.Thread):
    """A processor in a thread: ``process_pending`` once (or until nothing is left), its result kept."""

    def __init__(self, store: Store, stages, *, limit: int = pipeline.BATCH, drain: bool = False,
                 commit_every: int | None = None, tx_timeout_s: float | None = None):
        super().__init__(daemon=True)
        self.store, self.stages, self.limit, self.drain, self.commit_every = store, stages, limit, drain, commit_every
        # the pipeline's default unless given (a paused processor cut off sooner than in production)
        self.options = {} if tx_timeout_s is None else {"tx_timeout_s": tx_timeout_s}
        self.finished = 0
        self.error: BaseException | None = None

    def run(self):
        try:
            while True:
                done = pipeline.process_pending(self.store.sessions, self.stages, limit=self.limit,
                                                commit_every=self.commit_every, **self.options)
                self.finished += done
                if not self.drain or not done:
                    return
        except BaseException as exc:  # reported by the test
            self.error = exc


def holding(store: Store, before=(), after=(), *, limit: int = pipeline.BATCH, timeout: float = 20.0,
            **options) -> tuple[Worker, Hold]:
    """A processor started in a thread that holds its chunk open after the stages ``before``; returned
    once it holds it."""
    hold = Hold()
    worker = Worker(store, [*before, hold, *after], limit=limit, **options)
    worker.start()
    assert hold.reached.wait(timeout)
    return worker, hold


def second_processor_beside(store: Store, first: Worker, hold: Hold) -> Worker:
    """A second processor (the records stage) started while ``first`` holds its chunk; once it waits on a
    lock or has finished, the hold is released. Both joined, each having processed one chunk."""
    second = Worker(store, [RecordsStage()])
    second.start()
    try:
        blocked_or_done(store, second)
    finally:
        hold.release.set()
        first.join(20)
        second.join(20)
    assert first.error is None and second.error is None and first.finished == second.finished == 1
    return second


def waiting_on_lock(store: Store) -> int:
    """How many other sessions of this database wait for a lock (row or advisory) right now."""
    with store.sessions() as session:
        return session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()


def blocked_or_done(store: Store, worker: Worker, timeout: float = 20.0) -> bool:
    """Wait until ``worker`` has finished or some session waits on a lock; True if it waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.is_alive():
            return False
        if waiting_on_lock(store):
            return True
        time.sleep(0.02)
    raise AssertionError("the processor neither finished nor waited on a lock")


def statuses(store: Store) -> Counter:
    with store.sessions() as session:
        return Counter(session.scalars(select(Message.status)))


def acknowledgements(store: Store) -> Counter:
    """How many acknowledgements each message got (by MessageID)."""
    with store.sessions() as session:
        return Counter(session.scalars(select(Reply.in_reply_to).where(Reply.kind == "ack")))


def count(store: Store, column) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count(column)))
