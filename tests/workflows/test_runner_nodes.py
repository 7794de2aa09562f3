"""The workflows' runner with several processors on one database (issue 22): a change committed after a
newer one is never passed over (PostgreSQL), one runner writes at a time (the lease ``workflows``) even
once it stalled past its lease, an idle pass writes nothing (it runs while another process holds SQLite's
write lock), and the replay guard's expired MessageIDs are pruned by the holder's checks."""
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
from sqlalchemy import select, update

from hub.exchange.models import RequestNonce
from hub.records.models import RecordDocument
from hub.store.db import make_engine, transaction
from hub.store.lease import Lease
from hub.workflows import runner
from hub.workflows.drugs.models import PendingBatch
from hub.workflows.runner import LEASE, Handler, WorkflowTicker, run_pass
from protocol.timestamps import utcnow

from .reports import HFMD, disease_report

ROOT = Path(__file__).resolve().parents[2]
SEEN: list[int] = []


def _record(session, changes, now):
    SEEN.extend(change.document_row_id for change in changes)


HANDLER = Handler("test.nodes", frozenset({"InfectiousDiseaseReport"}), _record)


@pytest.fixture(autouse=True)
def _clear():
    SEEN.clear()


def _document_rows(store) -> list[int]:
    with store.sessions() as session:
        return list(session.scalars(select(RecordDocument.id).order_by(RecordDocument.id)))


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_change_committed_after_a_newer_one_is_not_passed_over(store):
    store.deliver(disease_report("R-1", disease=HFMD), disease_report("R-2", disease=HFMD))
    store.process()
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.nodes": 2}
    SEEN.clear()
    first, second = _document_rows(store)
    # processor A's chunk: its transaction dates its change, then takes a while to commit
    slow = store.sessions()
    slow.execute(update(RecordDocument).where(RecordDocument.id == first).values(updated_at=utcnow(), version=2))
    # processor B's chunk starts later, dates its change later and commits first
    with transaction(store.sessions) as session:
        session.execute(update(RecordDocument).where(RecordDocument.id == second)
                        .values(updated_at=utcnow(), version=2))
    between = run_pass(store.sessions, [HANDLER])
    slow.commit()
    slow.close()
    after = run_pass(store.sessions, [HANDLER])
    assert between.changes["test.nodes"] == 0  # B's change waits below A's open transaction
    assert sorted(SEEN) == [first, second] and after.changes == {"test.nodes": 2}  # both, once each
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.nodes": 0}


def test_the_settle_time_defaults_to_the_databases(store, db_url):
    expected = 2.0 if db_url.startswith("postgresql") else 0.0
    assert WorkflowTicker(store.sessions).settle_s == runner.DEFAULT_SETTLE_S[store.sessions.kw["bind"].dialect.name]
    assert WorkflowTicker(store.sessions).settle_s == expected
    assert WorkflowTicker(store.sessions, settle_s=5.0).settle_s == 5.0


def test_one_runner_writes_at_a_time_the_holder_of_the_lease(store):
    store.deliver(disease_report("R-1", disease=HFMD))
    store.process()
    other = Lease(store.sessions, LEASE)  # another processor's runner, in the middle of its pass
    assert other.try_acquire()
    ours = Lease(store.sessions, LEASE)
    left = run_pass(store.sessions, [HANDLER], lease=ours)
    assert left.busy and left.changes == {"test.nodes": 0} and SEEN == []
    other.release()
    done = run_pass(store.sessions, [HANDLER], lease=ours)
    assert not done.busy and done.changes == {"test.nodes": 1} and len(SEEN) == 1
    assert ours.state() is None  # given back at the end of the pass
    idle = run_pass(store.sessions, [HANDLER], lease=other)
    assert not idle.busy and idle.changes == {"test.nodes": 0} and ours.state() is None  # no work: no lease taken


def test_the_periodic_checks_run_only_by_the_holder_of_the_lease(store):
    with transaction(store.sessions) as session:  # a drug batch whose settle time has passed
        session.add(PendingBatch(drug_code="X01", batch_number="B-1", due_at=utcnow() - timedelta(minutes=1)))
    other = Lease(store.sessions, LEASE)
    assert other.try_acquire()
    ticker = WorkflowTicker(store.sessions, settle_s=0.0)
    assert ticker(0).busy
    with store.sessions() as session:
        assert session.get(PendingBatch, ("X01", "B-1")) is not None  # left to the holder
    other.release()
    ticker._last = float("-inf")  # the next turn
    result = ticker(0)
    assert not result.busy and result.changes["drugs.settled"] == 0 and not result.failed
    with store.sessions() as session:
        assert session.get(PendingBatch, ("X01", "B-1")) is None  # judged, and out of the line


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_idle_pass_writes_nothing_while_another_process_holds_the_write_lock(store, db_url):
    store.deliver(disease_report("R-1", disease=HFMD))
    store.process()
    ticker = WorkflowTicker(store.sessions, settle_s=0.0)
    assert ticker(0).changes["disease.surveillance"] == 1  # caught up: nothing left to do
    # a stopped processor (SIGSTOP) holding the hub's write lock: a second engine's lock is another holder
    stopped = make_engine(db_url)
    results = []
    with stopped.hie_write_lock:
        ticker._last = float("-inf")
        turn = threading.Thread(target=lambda: results.append(ticker(0)), daemon=True)
        turn.start()
        turn.join(timeout=10)
        finished_under_the_lock = not turn.is_alive()
    turn.join(timeout=30)
    stopped.dispose()
    assert finished_under_the_lock, "an idle pass waited for the write lock"
    assert results[0].total == 0 and not results[0].failed and not results[0].busy


# A runner's pass as run_pass drives it: PassTurn takes the lease ``workflows`` at the pass's first write, and
# is called again before each later write and inside its transaction. Between two writes the process is paused.
_RUNNER_PASS = textwrap.dedent("""
    import sys
    from contextlib import ExitStack
    from hub.store.db import make_engine, session_factory, transaction
    from hub.store.lease import Lease
    from hub.workflows.concurrency import LeaseBusy, PassTurn
    sessions = session_factory(make_engine(sys.argv[1]))
    with ExitStack() as stack:
        turn = PassTurn(Lease(sessions, "workflows", ttl_s=1.0), stack)
        turn()
        print("held", flush=True)
        sys.stdin.readline()
        try:
            if sys.argv[2] == "transaction":  # the renewer has not looked yet: the batch's transaction sees it
                turn.lease.lost.clear()
                with transaction(sessions) as session:
                    turn(session)
            else:
                turn()
            print("writes", flush=True)
        except LeaseBusy:
            print("busy", flush=True)
""")


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("where", ["turn", "transaction"])
def test_a_runner_paused_past_its_lease_does_not_write_once_another_runner_holds_it(store, db_url, where):
    """(review of issue 22) A runner resumed after its lease was taken went on writing beside the new holder."""
    child = subprocess.Popen([sys.executable, "-c", _RUNNER_PASS, db_url, where], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "held"
        os.kill(child.pid, signal.SIGSTOP)  # paused, renewer thread included
        time.sleep(1.6)
        other = Lease(store.sessions, LEASE, ttl_s=30)
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


def test_the_holders_checks_prune_the_replay_guards_expired_message_ids(store):
    now = utcnow()
    with transaction(store.sessions) as session:  # spent long ago, just expired, still fresh
        session.add_all([RequestNonce(member="CLINIC01", message_id=f"urn:uuid:{name}", expires_at=now + age)
                         for name, age in (("old", timedelta(hours=-1)), ("just", timedelta(seconds=-5)),
                                           ("fresh", timedelta(minutes=5)))])
    ticker = WorkflowTicker(store.sessions, settle_s=0.0)
    result = ticker(0)
    assert result.changes["exchange.nonces"] == 2 and not result.failed
    with store.sessions() as session:
        assert list(session.scalars(select(RequestNonce.message_id))) == ["urn:uuid:fresh"]
    ticker._last = float("-inf")  # the next turn: nothing expired long enough ago, nothing written
    assert ticker(0).changes["exchange.nonces"] == 0
