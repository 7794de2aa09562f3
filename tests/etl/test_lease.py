"""The ETL runs once per mart however many hub processes schedule it (issue 22): each scheduled turn
takes the mart's lease ``etl:<mart>`` first (one per cluster, whichever replica a node reaches);
``hie etl run`` takes the same one (``etl.busy``, or ``--wait``); ``hie etl status`` names the holder; a
run that lost the lease while stalled records nothing; "due" goes by the database's clock."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.models import EtlRun
from hub.cli.main import main
from hub.settings import Settings
from hub.store.db import transaction
from hub.store.lease import Lease
from hub.web.mart import ScheduledEtl, etl_lease, mart_identity, scheduled_run
from protocol.timestamps import utcnow

ROOT = Path(__file__).resolve().parents[2]
MART = "clickhouse://hie:secret@CH.example:9000/mart?cluster=two"


@pytest.fixture
def sessions(migrated_sessions):
    return migrated_sessions


def test_the_lease_names_the_mart_without_its_credentials(tmp_path):
    assert mart_identity(MART) == "clickhouse-cluster://two/mart"
    assert mart_identity("clickhouse://hie:pw@CH1.example/hie") == "clickhouse://ch1.example:9000/hie"
    assert mart_identity("clickhouse://ch1.example:9000") == "clickhouse://ch1.example:9000/mart"
    assert mart_identity("chdb:///srv/hie/mart") == "chdb:///srv/hie/mart"
    settings = Settings(data_dir=tmp_path, mart_url=MART)
    assert etl_lease(settings, None).name == "etl:clickhouse-cluster://two/mart"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_nodes_that_reach_one_clickhouse_cluster_through_different_replicas_share_one_etl_lease(sessions,
                                                                                                   tmp_path):
    """(review of issue 22) Nodes pointed at two replicas of one cluster took two leases and loaded at once."""
    near_a = Settings(data_dir=tmp_path / "a", mart_url="clickhouse://hie:pw@ch-a.example:9000/mart?cluster=mart")
    near_b = Settings(data_dir=tmp_path / "b", mart_url="clickhouse://hie:pw@ch-b.example:9000/mart?cluster=mart")
    first, second = etl_lease(near_a, sessions), etl_lease(near_b, sessions)
    assert first.try_acquire()
    assert not second.try_acquire(), f"{first.name} and {second.name}: two ETL runs into one mart at once"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_node_whose_clock_is_ahead_does_not_stop_the_other_nodes_etl(sessions):
    """(review of issue 22) After one run dated by a node an hour ahead, no other node's scheduled ETL ran
    for an hour."""
    ran = []
    with transaction(sessions) as session:  # the run of a node whose clock is one hour ahead, finished
        session.add(EtlRun(kind="incremental", status="finished", started_at=utcnow() + timedelta(hours=1),
                           finished_at=utcnow() + timedelta(hours=1, seconds=5)))
    turn = ScheduledEtl(sessions, Lease(sessions, "etl:mart", ttl_s=5), lambda: ran.append(1), interval_s=60)
    assert turn() and ran == [1], "a run dated in the future by a skewed node kept this node's ETL from running"


def test_a_scheduled_run_that_lost_the_marts_lease_records_nothing(sessions, chdb_olap):
    from etl.models import EtlWatermark
    from etl.transform import Pseudonymizer
    from olap.schema.migrate import apply_schema

    apply_schema(chdb_olap)
    pseudonymize = Pseudonymizer(b"etl-test-key-0123456789abcdef012")
    stalled, other = Lease(sessions, "etl:mart", ttl_s=0.3), Lease(sessions, "etl:mart", ttl_s=30)
    assert stalled.try_acquire()
    time.sleep(0.5)  # the node stalled past its lease (no renewer ran): another node's run takes it over
    assert other.try_acquire()
    scheduled_run(sessions, chdb_olap, pseudonymize, stalled)()  # one line logged, nothing raised
    with sessions() as session:
        runs = session.query(EtlRun).all()
        assert [(run.status, '"etl.lease.lost"' in run.detail) for run in runs] == [("failed", True)]
        assert session.query(EtlWatermark).count() == 0  # the next run loads the same changes again
    scheduled_run(sessions, chdb_olap, pseudonymize, other)()  # the holder's run records its end
    with sessions() as session:
        assert session.query(EtlRun).filter(EtlRun.status == "finished").count() == 1
        assert session.query(EtlWatermark).count() == 3


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
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_etl_run_paused_past_its_lease_does_not_load_once_another_run_holds_it(sessions, db_url, tmp_path):
    """(review of issue 22) The resumed run recorded its run and watermarks while the new holder ran too."""
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


def test_two_schedulers_never_run_at_once_and_both_run_over_time(sessions):
    runs: list[tuple[str, float, float]] = []

    def scheduler(name: str) -> None:
        def run() -> None:
            started = time.monotonic()
            time.sleep(0.05)
            runs.append((name, started, time.monotonic()))

        turn = ScheduledEtl(sessions, Lease(sessions, "etl:mart", ttl_s=5), run, interval_s=0.01)
        for _ in range(25):
            turn()
            time.sleep(0.01)

    threads = [threading.Thread(target=scheduler, args=(name,)) for name in ("node-1", "node-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ordered = sorted(runs, key=lambda run: run[1])
    assert all(earlier[2] <= later[1] for earlier, later in zip(ordered, ordered[1:])), "two runs overlapped"
    assert {name for name, _, _ in runs} == {"node-1", "node-2"}


def test_a_turn_waits_for_a_dead_holders_lease_to_expire_and_for_the_run_to_be_due(sessions):
    ran = []
    dead = Lease(sessions, "etl:mart", holder="node-9:4242:deadbeef", ttl_s=1.0)
    assert dead.try_acquire()  # then the process was killed: never released
    turn = ScheduledEtl(sessions, Lease(sessions, "etl:mart", ttl_s=1.0), lambda: ran.append(1), interval_s=60)
    assert not turn() and ran == []
    time.sleep(1.2)
    assert turn() and ran == [1]
    with transaction(sessions) as session:  # a run of another node started a moment ago: not due for 45 s
        session.add(EtlRun(kind="incremental", status="finished", started_at=utcnow()))
    assert not turn() and ran == [1]


def _hie(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hub.cli.main", *arguments], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_hie_etl_run_answers_etl_busy_while_another_holds_the_lease_and_status_names_it(sessions, db_url, tmp_path):
    settings = Settings.load(tmp_path, database_url=db_url)
    other = etl_lease(settings, sessions)
    other.holder = "node-2:777:cafe0001"
    assert other.try_acquire()
    arguments = ["--data-dir", str(tmp_path), "--database-url", db_url]
    busy = CliRunner().invoke(main, ["etl", "run", *arguments])
    assert busy.exit_code == 1
    [line] = busy.output.strip().splitlines()
    assert line.startswith("error: etl.busy: an ETL run holds the mart's lease (holder node-2:777:cafe0001, until ")
    assert CliRunner().invoke(main, ["etl", "backfill", *arguments, "--from", "2026-11-01", "--to", "2026-11-02"]
                              ).exit_code == 1
    status = CliRunner().invoke(main, ["etl", "status", *arguments])
    assert status.exit_code == 0 and f"lease {other.name}: held by node-2:777:cafe0001 since " in status.output
    other.release()
    free = CliRunner().invoke(main, ["etl", "status", *arguments])
    assert f"lease {other.name}: free" in free.output


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hie_etl_run_wait_runs_once_the_holder_is_done(sessions, db_url, tmp_path):
    other = etl_lease(Settings.load(tmp_path, database_url=db_url), sessions)
    assert other.try_acquire()
    waiting = _hie("etl", "run", "--wait", "--data-dir", str(tmp_path))
    told: list[str] = []
    reader = threading.Thread(target=lambda: told.append(waiting.stderr.readline()), daemon=True)
    reader.start()
    reader.join(timeout=120)  # its start-up (imports), then its first line
    assert told and told[0].startswith("waiting for the mart's lease (holder "), told
    time.sleep(1.5)
    assert waiting.poll() is None  # still waiting for the lease
    other.release()
    out, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err[-1500:]
    assert "run 1: read 0, written 0" in out
    assert other.state() is None  # released by the run at its end


_SCHEDULING_NODE = """
import logging, sys, time
logging.basicConfig(level=logging.INFO)
from pathlib import Path
from etl.mart import open_mart
from hub.settings import Settings
from hub.store.db import make_engine, session_factory
from hub.web.mart import schedule_etl
data, database_url, mart_url, interval, window = sys.argv[1:]
settings = Settings(data_dir=Path(data), database_url=database_url, mart_url=mart_url, etl_interval_s=float(interval),
                    pseudonym_key_hex="11" * 32)
sessions = session_factory(make_engine(settings.db_url), settings=settings)
scheduler = schedule_etl(settings, sessions, open_mart(settings.mart_location))  # first turn 5 s from now
time.sleep(float(window))
scheduler.shutdown(wait=True)
"""


@pytest.mark.slow
@pytest.mark.clickhouse
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_hub_processes_load_one_clickhouse_mart_once_per_interval_never_at_once(sessions, db_url, ch_server,
                                                                                    tmp_path):
    from sqlalchemy import select

    interval = 1.5
    mart_url = f"clickhouse://{ch_server.host}:{ch_server.tcp_port}/lease_{os.getpid()}_{int(time.time())}"
    window = 11  # each node's turns: from 5 s after it scheduled them to this
    nodes = [subprocess.Popen([sys.executable, "-c", _SCHEDULING_NODE, str(tmp_path), db_url, mart_url, str(interval),
                               str(window)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}) for _ in range(2)]
    said = []
    for node in nodes:
        _, err = node.communicate(timeout=120)
        assert node.returncode == 0, err[-1500:]
        said.append(err)
    with sessions() as session:
        runs = session.execute(select(EtlRun.started_at, EtlRun.finished_at, EtlRun.status)
                               .order_by(EtlRun.started_at)).all()
    assert runs and all(run.status == "finished" for run in runs), (runs, [err[-1500:] for err in said])
    assert all(earlier.finished_at <= later.started_at for earlier, later in zip(runs, runs[1:])), "runs overlapped"
    span = (runs[-1].started_at - runs[0].started_at).total_seconds()
    # once per interval (give or take a quarter) across both nodes; each node alone would run every interval
    assert len(runs) <= span / (interval * 0.75) + 1, (len(runs), span)
