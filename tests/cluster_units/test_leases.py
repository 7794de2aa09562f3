"""``hub.store.lease``: one holder at a time on SQLite and PostgreSQL, renewal while the work runs, a
killed holder's lease taken over once it expires, a stalled holder fenced off once it lost it (issue 22);
and the horizon (``hub.store.horizon``) that keeps the ETL from passing over a chunk still open."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from hub.records.stage import RecordsStage
from hub.store.db import transaction
from hub.store.lease import Lease, holder_name
from olap.schema.migrate import apply_schema
from tests.cluster_units.processors import Hold, Worker, on_postgres, store  # noqa: F401 (fixture)
from tests.etl.conftest import Etl
from tests.mpi.test_concurrency import person, visit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sessions(migrated_sessions):
    return migrated_sessions


def test_one_holder_at_a_time_until_it_releases(sessions):
    first, second = Lease(sessions, "etl:test"), Lease(sessions, "etl:test")
    assert first.try_acquire() and not second.try_acquire()
    taken = first.state()
    assert taken.holder == first.holder and taken.expires_at > taken.acquired_at
    assert first.try_acquire()  # ours: renewed, acquired when it was first taken
    assert first.state().acquired_at == taken.acquired_at and first.state().expires_at >= taken.expires_at
    assert not second.renew() and not second.try_acquire()
    second.release()  # not its lease: nothing happens
    assert first.state().holder == first.holder
    first.release()
    assert first.state() is None and second.try_acquire() and second.state().holder == second.holder
    assert Lease(sessions, "workflows").try_acquire()  # another name, another lease


def test_an_expired_lease_goes_to_the_next_holder_and_the_old_one_cannot_renew_it(sessions):
    old, new = Lease(sessions, "etl:test", ttl_s=0.3), Lease(sessions, "etl:test", ttl_s=0.3)
    assert old.try_acquire() and not new.try_acquire()
    time.sleep(0.5)
    assert new.try_acquire()
    assert not old.renew() and not old.try_acquire()
    assert new.state().holder == new.holder


def test_of_many_holders_trying_at_the_same_moment_exactly_one_gets_it(sessions):
    for round_ in range(2):  # a lease never taken (insert race), then an expired one (update race)
        leases = [Lease(sessions, "race", ttl_s=0.5) for _ in range(6)]
        start = threading.Barrier(len(leases))
        won: list[bool] = [False] * len(leases)

        def attempt(index: int) -> None:
            start.wait()
            won[index] = leases[index].try_acquire()

        threads = [threading.Thread(target=attempt, args=(index,)) for index in range(len(leases))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sum(won) == 1, (round_, won)
        time.sleep(0.7)  # it expires: the next round races for an expired row


def test_kept_renews_while_the_work_runs_and_releases_at_the_end(sessions):
    worker, other = Lease(sessions, "etl:test", ttl_s=0.6), Lease(sessions, "etl:test", ttl_s=0.6)
    assert worker.try_acquire()
    with worker.kept():
        deadline = time.monotonic() + 1.5  # well past the ttl: the renewer keeps it
        while time.monotonic() < deadline:
            assert not other.try_acquire()
            time.sleep(0.1)
    assert not worker.lost.is_set() and worker.state() is None
    assert other.try_acquire()


def test_the_holder_names_its_host_and_process():
    host, pid, token = holder_name().split(":")
    assert host and int(pid) == os.getpid() and len(token) == 8 and holder_name() != holder_name()


_KILLED_HOLDER = """
import os, sys, time
from hub.store.db import make_engine, session_factory
from hub.store.lease import Lease
lease = Lease(session_factory(make_engine(sys.argv[1])), "etl:test", ttl_s=float(sys.argv[2]))
assert lease.try_acquire()
with lease.kept():  # working, renewing...
    print(lease.holder, flush=True)
    time.sleep(0.5)
    os._exit(0)  # ...and gone without a word (kill -9): no release
"""


def test_a_killed_holder_is_taken_over_once_its_lease_expires(sessions, db_url):
    ttl = 2.0
    child = subprocess.run([sys.executable, "-c", _KILLED_HOLDER, db_url, str(ttl)], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.returncode == 0, child.stderr[-1500:]
    gone = child.stdout.strip()
    successor = Lease(sessions, "etl:test", ttl_s=ttl)
    state = successor.state()
    assert state.holder == gone and not successor.try_acquire()  # still within its ttl
    while not successor.try_acquire():
        time.sleep(0.1)
    assert time.time() >= state.expires_at.timestamp() - 0.5  # not before the expiry (clock of this one machine)
    assert time.time() <= state.expires_at.timestamp() + 5
    assert successor.state().holder == successor.holder


def test_the_ttl_is_a_setting_refused_unless_positive(monkeypatch, tmp_path):
    from hub.settings import Settings, SettingsError

    assert Settings.load(tmp_path).lease_ttl_s == 30.0
    monkeypatch.setenv("HIE_LEASE_TTL_S", "12.5")
    assert Settings.load(tmp_path).lease_ttl_s == 12.5
    for bad in ("0", "-3", "soon"):
        monkeypatch.setenv("HIE_LEASE_TTL_S", bad)
        with pytest.raises(SettingsError, match="HIE_LEASE_TTL_S"):
            Settings.load(tmp_path)


def test_a_holder_that_lost_its_lease_is_fenced_off_and_the_holder_is_kept_until_its_write_commits(sessions):
    stalled, other = Lease(sessions, "workflows", ttl_s=0.3), Lease(sessions, "workflows", ttl_s=0.3)
    assert stalled.try_acquire()
    time.sleep(0.5)  # stalled past its ttl (its renewer did not run): the other takes the lease over
    assert other.try_acquire()
    with transaction(sessions) as session:
        assert not stalled.fence(session)
    time.sleep(0.5)  # the other's lease expired in turn, but nobody took it: still the other's to write under
    with transaction(sessions) as session:
        assert other.fence(session)  # renewed within the write's transaction
    assert not stalled.try_acquire() and other.state().holder == other.holder


OVERLAP = timedelta(seconds=1)  # the scheduled runs use 60 s: the same with a processor paused 61 s


@on_postgres
def test_a_chunk_committed_after_an_etl_run_read_is_loaded_by_the_next_run(store, chdb_olap):
    """(review of issue 22) A chunk dates its rows when it starts and commits later: an ETL run that read while
    it was open moved its watermark past those rows, and no later run loaded them. Every person is synthetic."""
    apply_schema(chdb_olap)
    etl = Etl(store, chdb_olap)
    store.deliver(visit("CLINIC01", "OV-LATE", person(5, random.Random(5))), member="CLINIC01")
    hold = Hold()
    paused = Worker(store, [RecordsStage(), hold], limit=1)  # has written the visit, dated now; not committed
    paused.start()
    assert hold.reached.wait(20)
    try:
        time.sleep(OVERLAP.total_seconds() * 1.5)
        etl.run(overlap=OVERLAP)  # reads while the chunk is open: the visit is not there yet
    finally:
        hold.release.set()
        paused.join(20)
    assert paused.error is None and paused.finished == 1
    etl.run(overlap=OVERLAP)
    assert etl.count("fact_outpatient_visit") == 1, "the visit committed after a run read is never loaded"
