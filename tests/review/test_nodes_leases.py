"""Review of issue 22's leases (hub.store.lease) as the nodes use them: a holder paused (SIGSTOP, a VM
stall, a long GC) past its lease while another takes it over, and nodes whose clocks disagree. Each
test here fails on integ at 5d2dcf6 and describes the behaviour expected once fixed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest

from etl.models import EtlRun
from hub.settings import Settings
from hub.store.db import make_engine, session_factory, transaction
from hub.store.lease import Lease
from hub.web.mart import ScheduledEtl, etl_lease
from protocol.timestamps import utcnow
from tests.support.migrated import copy_migrated

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@pytest.fixture
def sessions(request, db_url):
    copy_migrated(request, db_url)
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


# A workflows runner's pass as hub.workflows.runner drives it: PassTurn takes the lease ``workflows`` at the
# pass's first write and is called again before each later write. Between two writes the process is paused.
_RUNNER_PASS = textwrap.dedent("""
    import sys
    from contextlib import ExitStack
    from hub.store.db import make_engine, session_factory
    from hub.store.lease import Lease
    from hub.workflows.concurrency import LeaseBusy, PassTurn
    sessions = session_factory(make_engine(sys.argv[1]))
    with ExitStack() as stack:
        turn = PassTurn(Lease(sessions, "workflows", ttl_s=1.0), stack)
        turn()
        print("held", flush=True)
        sys.stdin.readline()
        try:
            turn()
            print("writes", flush=True)
        except LeaseBusy:
            print("busy", flush=True)
""")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_runner_paused_past_its_lease_does_not_write_once_another_runner_holds_it(sessions, db_url):
    """hub/workflows/concurrency.py PassTurn.__call__: once ``held`` it never looks at ``lease.lost`` again,
    so a runner resumed after its lease was taken keeps writing beside the new holder (two runners at once)."""
    child = subprocess.Popen([sys.executable, "-c", _RUNNER_PASS, db_url], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "held"
        os.kill(child.pid, signal.SIGSTOP)  # paused, renewer thread included
        time.sleep(1.6)
        other = Lease(sessions, "workflows", ttl_s=30)
        assert other.try_acquire()  # the paused runner's lease expired: the other runner takes it and writes
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(0.8)  # the resumed renewer has found the lease taken (lease.lost is set)
        child.stdin.write("\n")
        child.stdin.flush()
        answer = child.stdout.readline().strip()
        assert other.state().holder == other.holder
        assert answer == "busy", "the resumed runner went on writing while another runner held the lease"
    finally:
        child.kill()
        child.wait(timeout=10)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_node_whose_clock_is_ahead_does_not_stop_the_other_nodes_etl(sessions):
    """hub/web/mart.py ScheduledEtl.due() compares this node's clock with EtlRun.started_at, which
    etl/jobs.py run_incremental dates with the clock of the node that ran (``datetime.now``), not the
    database's: after one run by a node an hour ahead, no other node's scheduled ETL runs for an hour
    (the lease is free; lease.py says "the nodes' clocks do not matter")."""
    ran = []
    with transaction(sessions) as session:  # the run of a node whose clock is one hour ahead, finished
        session.add(EtlRun(kind="incremental", status="finished", started_at=utcnow() + timedelta(hours=1),
                           finished_at=utcnow() + timedelta(hours=1, seconds=5)))
    turn = ScheduledEtl(sessions, Lease(sessions, "etl:mart", ttl_s=5), lambda: ran.append(1), interval_s=60)
    assert turn() and ran == [1], "a run dated in the future by a skewed node kept this node's ETL from running"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_nodes_that_reach_one_clickhouse_cluster_through_different_replicas_share_one_etl_lease(sessions,
                                                                                                   tmp_path):
    """hub/web/mart.py mart_identity names the mart by the host a node connects to: nodes pointed at two
    replicas of one cluster (each at its nearest, so that a replica's loss does not take every node's mart)
    get two leases, and both load the one Distributed mart at the same moment."""
    near_a = Settings(data_dir=tmp_path / "a", mart_url="clickhouse://hie:pw@ch-a.example:9000/mart?cluster=mart")
    near_b = Settings(data_dir=tmp_path / "b", mart_url="clickhouse://hie:pw@ch-b.example:9000/mart?cluster=mart")
    first, second = etl_lease(near_a, sessions), etl_lease(near_b, sessions)
    assert first.try_acquire()
    assert not second.try_acquire(), f"{first.name} and {second.name}: two ETL runs into one mart at once"


# ``hie etl run`` as hub/cli/etl.py runs it: the mart's lease taken (``_leased``), then the run; the process
# is paused between the two (any moment of a run is the same: nothing looks at the lease until the end).
_ETL_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from etl.jobs import run_incremental
    from hub.cli.etl import _leased
    with _leased(Path(sys.argv[1]), sys.argv[2], None, wait=False) as (_settings, sessions, (mart, pseudonymize)):
        print("held", flush=True)
        sys.stdin.readline()
        print("loaded", run_incremental(sessions, mart, pseudonymize).run_id, flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_etl_run_paused_past_its_lease_does_not_load_once_another_run_holds_it(sessions, db_url, tmp_path):
    """hub/cli/etl.py _leased and hub/web/mart.py ScheduledEtl: ``Lease.kept()`` sets ``lost`` when the
    lease was taken meanwhile, but nothing reads it: the resumed run loads the mart and records its run
    and watermarks while the new holder runs too."""
    child = subprocess.Popen([sys.executable, "-c", _ETL_RUN, str(tmp_path), db_url], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "HIE_LEASE_TTL_S": "1"})
    try:
        assert child.stdout.readline().strip() == "held"
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(1.6)
        other = etl_lease(Settings.load(tmp_path, database_url=db_url), sessions)
        assert other.try_acquire()  # the paused run's lease expired: another node's run starts
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(0.8)  # the resumed renewer has found the lease taken
        child.stdin.write("\n")
        child.stdin.flush()
        child.communicate(timeout=120)
        with sessions() as session:
            finished = session.query(EtlRun).filter(EtlRun.status == "finished").count()
        assert other.state().holder == other.holder
        assert finished == 0, "the resumed run loaded the mart while another run held the lease"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
