"""The runner: each change (new document, new version, cancellation) reaches its handler exactly once,
in batches, and a crash before the commit runs the batch again (nothing of it was kept)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import audit
from hub.audit import AuditEvent
from hub.workflows import runner
from hub.workflows.models import Watermark
from hub.settings import Settings
from hub.workflows.runner import Handler, WorkflowTicker, run_pass

from tests.support.migrated import migrated_engine

from .reports import HFMD, cancellation, disease_report

SEEN: list[tuple[int, int, str]] = []


def _record(session, changes, now):
    for change in changes:
        SEEN.append((change.document_row_id, change.version, change.status))
        audit.record(session, "test.workflow", detail=f"{change.occurrence} v{change.version} {change.status}")


HANDLER = Handler("test.reports", frozenset({"InfectiousDiseaseReport"}), _record)


@pytest.fixture(autouse=True)
def _clear():
    SEEN.clear()


def _handled(store) -> list[str]:
    with store.sessions() as session:
        return list(session.scalars(select(AuditEvent.detail).where(AuditEvent.event_type == "test.workflow")
                                    .order_by(AuditEvent.id)))


def test_new_documents_versions_and_cancellations_each_once(store):
    store.deliver(disease_report("R-1", disease=HFMD), disease_report("R-2", disease=HFMD))
    store.deliver(disease_report("R-3", disease=HFMD))
    store.process()
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 3}
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 0}  # nothing new: nothing again

    store.deliver(disease_report("R-1", disease=HFMD, version=2))
    store.deliver(cancellation("CXL-1", "R-2"))
    store.process()
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 2}
    assert [(version, status) for _, version, status in SEEN] == [
        (1, "current"), (1, "current"), (1, "current"), (2, "current"), (1, "cancelled")]
    assert len(_handled(store)) == 5
    with store.sessions() as session:
        assert session.get(Watermark, "test.reports").changes == 5


def test_only_the_registered_document_types(store):
    from tests.support.documents import document

    store.deliver(document("OutpatientVisit", document_id="OV-1"), disease_report("R-1", disease=HFMD))
    store.process()
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 1}


def test_small_batches_cover_everything_in_order(store):
    store.deliver(*(disease_report(f"R-{n}", disease=HFMD) for n in range(5)))
    store.process()
    assert run_pass(store.sessions, [HANDLER], limit=2).changes == {"test.reports": 5}
    assert [row for row, _, _ in SEEN] == sorted(row for row, _, _ in SEEN)


def test_a_crash_before_the_commit_runs_the_batch_again(store, monkeypatch):
    store.deliver(disease_report("R-1", disease=HFMD), disease_report("R-2", disease=HFMD))
    store.process()

    def crash(*args):  # the process dies after the handler's work, before the watermark's commit
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(runner, "_advance", crash)
        with pytest.raises(KeyboardInterrupt):
            run_pass(store.sessions, [HANDLER])
    assert len(SEEN) == 2 and _handled(store) == []  # the handler ran; nothing of it was kept
    with store.sessions() as session:
        assert session.get(Watermark, "test.reports") is None

    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 2}
    assert len(_handled(store)) == 2  # once each
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 0}


def test_a_failing_handler_is_retried_and_the_others_go_on(store):
    calls = []

    def failing(session, changes, now):
        calls.append(len(changes))
        audit.record(session, "test.workflow", detail="partial")
        if len(calls) == 1:
            raise RuntimeError("a bug")

    store.deliver(disease_report("R-1", disease=HFMD))
    store.process()
    broken = Handler("test.failing", frozenset({"InfectiousDiseaseReport"}), failing)
    result = run_pass(store.sessions, [broken, HANDLER])
    assert result.failed == ["test.failing"] and result.changes["test.reports"] == 1
    assert run_pass(store.sessions, [broken]).changes == {"test.failing": 1}
    assert _handled(store).count("partial") == 1


def test_the_ticker_runs_after_changes_at_most_every_interval(store):
    now = [100.0]
    ticker = WorkflowTicker(store.sessions, interval_s=2.0, settle_s=0.0, clock=lambda: now[0])
    assert ticker(0) is not None  # the first tick catches up
    assert ticker(0) is None  # no changes since
    store.deliver(disease_report("R-1", disease=HFMD))
    store.process()
    now[0] += 0.5
    assert ticker(1) is None  # too soon: remembered
    now[0] += 2.0
    result = ticker(0)
    assert result is not None and result.changes["disease.surveillance"] == 1


def test_a_pass_seeks_the_changes_instead_of_reading_every_document_of_its_type(request, tmp_path):
    from datetime import datetime, timezone

    engine = migrated_engine(request, f"sqlite:///{tmp_path}/plan.db")
    mark = Watermark(name="x", updated_at=datetime(2026, 12, 1, tzinfo=timezone.utc), document_row_id=7)
    query = runner.changes_query(frozenset({"InfectiousDiseaseReport"}), mark, 200)
    with engine.connect() as connection:
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        plan = " / ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    engine.dispose()
    assert "USING INDEX ix_record_document_type_updated (document_type=? AND updated_at>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # read in the index's order: no sort of the type's documents


def test_a_pass_stops_at_its_time_budget_and_the_next_one_goes_on(store):
    store.deliver(*(disease_report(f"R-{n}", disease=HFMD) for n in range(5)))
    store.process()
    ticks = iter(range(100))
    clock = lambda: float(next(ticks))  # noqa: E731 - one second per look at the clock
    first = run_pass(store.sessions, [HANDLER], limit=2, budget_s=2.5, clock=clock)
    assert first.changes == {"test.reports": 4} and first.unfinished == ["test.reports"]
    rest = run_pass(store.sessions, [HANDLER], limit=2, budget_s=2.5, clock=clock)
    assert rest.changes == {"test.reports": 1} and rest.unfinished == []
    assert len(_handled(store)) == 5


def test_changes_younger_than_the_settle_time_wait_for_a_later_pass(store):
    store.deliver(disease_report("R-1", disease=HFMD))
    store.process()
    assert run_pass(store.sessions, [HANDLER], settle_s=3600).changes == {"test.reports": 0}
    assert run_pass(store.sessions, [HANDLER]).changes == {"test.reports": 1}
    assert Settings.load(".").workflow_settle_s is None  # the database's default (runner.DEFAULT_SETTLE_S)
