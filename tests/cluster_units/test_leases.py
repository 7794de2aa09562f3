"""``hub.store.lease``: one holder at a time on SQLite and PostgreSQL, renewal while the work runs, and a
killed holder's lease taken over once it expires (issue 22)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hub.store.db import make_engine, session_factory
from hub.store.lease import Lease, holder_name
from tests.support.migrated import copy_migrated

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sessions(request, db_url):
    copy_migrated(request, db_url)
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


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
