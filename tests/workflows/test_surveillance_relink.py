"""An MPI merge or unmerge re-links the disease cases at the runner's next pass, with no new card: an
operator's merge joins two persons' cases and its unmerge parts them, as does accepting a review item;
the index's own merge (a valid resident ID arriving on a visit, not a card) does too; a crash between
the merge and the re-link (the process killed after the merge, or the re-link failing) re-links at the
next pass; on PostgreSQL a merge that commits after a later-numbered one is not skipped; the diseases
cube counts the true cases after an ETL run (SQLite × chDB, PostgreSQL × a ClickHouse server); migration
0018 keeps the merges the old mark had not reached. Every person is synthetic."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from hub.mpi.merge import link, merge, unmerge
from hub.mpi.models import ReviewItem
from hub.records.models import DiseaseReport, RecordDocument
from hub.store.db import downgrade, make_engine, migrate, transaction
from hub.workflows import WorkflowTicker, run_pass
from hub.workflows.runner import CHECK_INTERVAL_S
from hub.workflows.surveillance import outbreaks
from hub.workflows.surveillance.workflow import MERGES
from hub.workflows.surveillance.models import DiseaseCase
from olap.cubes import execute, parse_query
from protocol.timestamps import utcnow
from tests.etl.conftest import etl_dialects  # noqa: F401 - the fixture, used below
from tests.mpi.conftest import ZHANG_ID
from tests.mpi.test_invalid_id import TYPO
from tests.support.documents import document

from .cards import MEASLES, card, resident

ONSET = date(2026, 11, 2)
ROOT = Path(__file__).resolve().parents[2]


def _unidentified(serial: int) -> dict:
    """The same person as ``resident(serial)`` to a clerk, but sent without an ID and under another name,
    sex and birth date (a hospital's mistyped registration): the MPI keeps it a person of its own."""
    return {"name": f"无证{serial}", "sex": "2", "birth_date": f"1970-01-{serial + 1:02d}", "division": "330102"}


def _pair(serial: int, disease=MEASLES) -> tuple:
    """One illness reported twice: the clinic's card (with the resident ID) and the hospital's (without)."""
    return (card(f"C-{serial}", patient=resident(serial), disease=disease, onset=ONSET),
            card(f"H-{serial}", patient=_unidentified(serial), disease=disease, institution="HOSP01",
                 onset=ONSET + timedelta(days=1)))


def _deliver_pairs(store, serials) -> None:
    cards = [_pair(serial) for serial in serials]
    store.deliver(*[clinic for clinic, _ in cards], member="CLINIC01")
    store.deliver(*[hospital for _, hospital in cards], member="HOSP01")
    store.process()


def _person_of(session, document_id: str) -> int:
    return session.scalar(select(DiseaseReport.person_id)
                          .join(RecordDocument, RecordDocument.id == DiseaseReport.document_ref)
                          .where(RecordDocument.document_id == document_id))


def _merge_pairs(store, serials) -> list[int]:
    """The operator merges each hospital person into the clinic's (one transaction each); the merge ids."""
    ids = []
    for serial in serials:
        with transaction(store.sessions) as session:
            ids.append(merge(session, survivor_id=_person_of(session, f"C-{serial}"),
                             retired_id=_person_of(session, f"H-{serial}"), actor="operator",
                             reason="the same person", now=utcnow()).id)
    return ids


def _unmerge(store, merge_ids) -> None:
    for merge_id in merge_ids:
        with transaction(store.sessions) as session:
            unmerge(session, merge_id=merge_id, actor="operator", reason="two persons", now=utcnow())


def _cases(sessions) -> list[tuple[str, str, int]]:
    """(disease, institutions, cards) of every case."""
    with sessions() as session:
        return sorted((c.disease_code, c.institutions, c.card_count) for c in session.scalars(select(DiseaseCase)))


def _consistent(sessions) -> None:
    """Every case's person holds its cards (the link the MPI's merge or unmerge changed is followed)."""
    with sessions() as session:
        wrong = session.execute(
            select(DiseaseCase.id).join(DiseaseReport, DiseaseReport.document_ref == DiseaseCase.first_card_row_id)
            .where(DiseaseReport.person_id != DiseaseCase.person_id)).all()
    assert wrong == []


JOINED = [("206", "CLINIC01,HOSP01", 2)]
APART = [("206", "CLINIC01", 1), ("206", "HOSP01", 1)]


def test_an_operator_merge_joins_the_cases_at_the_next_pass_and_its_unmerge_parts_them(store):
    _deliver_pairs(store, [1])
    run_pass(store.sessions)
    assert _cases(store.sessions) == APART

    [merge_id] = _merge_pairs(store, [1])
    run_pass(store.sessions)  # no card arrived
    assert _cases(store.sessions) == JOINED
    _consistent(store.sessions)

    _unmerge(store, [merge_id])
    run_pass(store.sessions)
    assert _cases(store.sessions) == APART
    _consistent(store.sessions)
    assert run_pass(store.sessions).failed == []  # nothing left to do, nothing fails


def test_an_idle_processor_re_links_within_the_check_interval(store):
    """The processor's ticker on a hub where nothing arrives: the operator's merge is re-linked by the pass
    it runs at least every ``CHECK_INTERVAL_S``."""
    _deliver_pairs(store, [1])
    now = [100.0]
    ticker = WorkflowTicker(store.sessions, interval_s=2.0, settle_s=0.0, clock=lambda: now[0])
    assert ticker(0) is not None and _cases(store.sessions) == APART  # the first tick catches up
    _merge_pairs(store, [1])
    now[0] += 2.0
    assert ticker(0) is None  # nothing processed: no pass yet
    now[0] += CHECK_INTERVAL_S
    assert ticker(0).changes[MERGES] == 1
    assert _cases(store.sessions) == JOINED


def test_the_index_merging_on_a_visit_joins_the_cases(store):
    """The hospital's card kept with an invalid resident ID, the clinic's card with its outpatient number only;
    then the clinic's visit (not a card) adds the valid ID one slip from the hospital's: the index merges the
    two persons while processing the visit (docs/mpi.md, the reverse near-miss)."""
    typed = {"resident_id": TYPO, "name": "章伟", "sex": "1", "birth_date": "1986-03-12", "division": "330102"}
    clinic = {"outpatient_no": "OP-1", "name": "张伟", "sex": "1", "birth_date": "1985-03-12", "division": "330102"}
    store.deliver(card("H-1", patient=typed, institution="HOSP01", disease=MEASLES, onset=ONSET), member="HOSP01")
    store.deliver(card("C-1", patient=clinic, disease=MEASLES, onset=ONSET + timedelta(days=1)))
    store.process()
    run_pass(store.sessions)
    assert _cases(store.sessions) == APART  # two persons so far

    store.deliver(document("OutpatientVisit", institution="CLINIC01", document_id="V-1",
                           patient={**clinic, "resident_id": ZHANG_ID}))
    store.process()
    with store.sessions() as session:
        assert _person_of(session, "H-1") == _person_of(session, "C-1")  # the index merged them
    run_pass(store.sessions)
    assert _cases(store.sessions) == JOINED
    _consistent(store.sessions)


def test_an_operator_accepting_a_review_item_joins_the_cases(store):
    """The hospital's card kept with an invalid resident ID, no sex and no address: the clinic's card with
    the valid ID one slip from it scores below the auto-link threshold (18), so the index offers the pair
    for review; the operator accepts it (``hub.mpi.link``, a merge)."""
    typed = {"resident_id": TYPO, "name": "章伟", "birth_date": "1986-03-12"}
    clinic = {"resident_id": ZHANG_ID, "name": "张伟", "sex": "1", "birth_date": "1985-03-12", "division": "330102"}
    store.deliver(card("H-1", patient=typed, institution="HOSP01", disease=MEASLES, onset=ONSET), member="HOSP01")
    store.process()
    store.deliver(card("C-1", patient=clinic, disease=MEASLES, onset=ONSET + timedelta(days=1)))
    store.process()
    run_pass(store.sessions)
    assert _cases(store.sessions) == APART
    with transaction(store.sessions) as session:
        [review_id] = session.scalars(select(ReviewItem.id).where(ReviewItem.status == "open")).all()
        link(session, review_id=review_id, accept=True, actor="operator", now=utcnow())
    run_pass(store.sessions)
    assert _cases(store.sessions) == JOINED
    _consistent(store.sessions)


_MERGE_AND_DIE = textwrap.dedent("""
    import os, sys
    from sqlalchemy import inspect, select, text
    from hub.mpi.merge import merge
    from hub.records.models import DiseaseReport, RecordDocument
    from hub.store.db import make_engine, session_factory, transaction
    from protocol.timestamps import utcnow

    sessions = session_factory(make_engine(sys.argv[1]))

    def person(session, document_id):
        return session.scalar(select(DiseaseReport.person_id)
                              .join(RecordDocument, RecordDocument.id == DiseaseReport.document_ref)
                              .where(RecordDocument.document_id == document_id))

    with transaction(sessions) as session:
        merge(session, survivor_id=person(session, "C-1"), retired_id=person(session, "H-1"), actor="operator",
              reason="the same person", now=utcnow())
    os._exit(9)  # killed after the merge committed, before any workflow pass
""")


def test_a_process_killed_after_the_merge_still_re_links_at_the_next_pass(store):
    _deliver_pairs(store, [1])
    run_pass(store.sessions)
    url = store.sessions.kw["bind"].url.render_as_string(hide_password=False)
    died = subprocess.run([sys.executable, "-c", _MERGE_AND_DIE, url], cwd=ROOT, capture_output=True, timeout=120)
    assert died.returncode == 9, died.stderr.decode()[-2000:]
    with store.sessions() as session:
        assert _person_of(session, "H-1") == _person_of(session, "C-1")  # the merge was kept
    assert _cases(store.sessions) == APART
    run_pass(store.sessions)  # the restarted runner
    assert _cases(store.sessions) == JOINED


def test_a_re_link_that_fails_is_done_again_at_the_next_pass(store, monkeypatch):
    _deliver_pairs(store, [1])
    run_pass(store.sessions)
    _merge_pairs(store, [1])

    def crash(*args, **kwargs):  # the re-link's transaction dies before it commits
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(outbreaks, "judge", crash)
        with pytest.raises(KeyboardInterrupt):
            run_pass(store.sessions)
    assert _cases(store.sessions) == APART  # nothing of it was kept
    run_pass(store.sessions)
    assert _cases(store.sessions) == JOINED


# SQLite writes one transaction at a time: there, merges commit in their numbers' order
@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_merge_that_commits_after_a_later_numbered_one_is_not_skipped(store):
    """Two processors' own merges (the reverse near-miss) at once on PostgreSQL: the merge numbered first
    commits last, after a pass has re-linked the other one. A mark over ``mpi_merge.id`` would pass over it
    for good. (Merges by hand wait for each other: hub.mpi.locks; a processor's own run side by side.)"""
    _deliver_pairs(store, [1, 2])
    run_pass(store.sessions)
    slow = store.sessions()
    try:
        merge(slow, survivor_id=_person_of(slow, "C-1"), retired_id=_person_of(slow, "H-1"), actor="mpi",
              reason="the same person", now=utcnow(), resolving=True)  # numbered, not committed yet
        with transaction(store.sessions) as session:
            merge(session, survivor_id=_person_of(session, "C-2"), retired_id=_person_of(session, "H-2"),
                  actor="mpi", reason="the same person", now=utcnow(), resolving=True)
        run_pass(store.sessions)
        assert _cases(store.sessions) == sorted(JOINED + APART)
        slow.commit()
    finally:
        slow.close()
    run_pass(store.sessions)
    assert _cases(store.sessions) == JOINED * 2


BODY = {"measures": ["cases", "cards"], "group_by": ["residence.district"],
        "period": {"from": "2026-11-01", "to": "2026-11-30"}}


def _cube(etl) -> tuple[int, int]:
    etl.run()
    cells = execute(etl.mart, parse_query("diseases", BODY, today=date(2026, 12, 1)))["cells"]
    cell = next(c for c in cells if c["residence.district"] == "330102")
    return cell["cases"], cell["cards"]


def test_the_cases_cube_counts_the_true_cases_after_a_merge_and_an_unmerge(etl_dialects):
    """Five persons, each reported by the clinic and the hospital (a cell below five would be withheld)."""
    etl, serials = etl_dialects, range(1, 6)
    _deliver_pairs(etl.store, serials)
    run_pass(etl.store.sessions)
    assert _cube(etl) == (10, 10)  # the MPI keeps ten persons: ten cases

    merges = _merge_pairs(etl.store, serials)
    assert _cube(etl) == (10, 10)  # the ETL ran before the runner: the cards re-read, still their cases
    run_pass(etl.store.sessions)
    assert _cube(etl) == (5, 10)
    assert _cases(etl.store.sessions) == JOINED * 5

    _unmerge(etl.store, merges)
    run_pass(etl.store.sessions)
    assert _cube(etl) == (10, 10)
    assert _cases(etl.store.sessions) == sorted(APART * 5)


_AT = "2026-12-01 08:00:00+00:00"


def test_0018_turns_the_merges_after_the_old_mark_into_pending_rows_and_goes_down_again(db_url):
    """A hub upgraded from 0017 loses no merge its surveillance had not re-linked yet."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "0017")
        with engine.begin() as connection:
            for person in (1, 2, 3):
                connection.execute(text("INSERT INTO mpi_person (id, status, created_at, updated_at) "
                                        "VALUES (:id, 'active', :at, :at)"), {"id": person, "at": _AT})
            for merge_id, retired in ((1, 2), (2, 3), (3, 2)):
                connection.execute(text("INSERT INTO mpi_merge (id, kind, survivor_id, retired_id, actor, reason, at) "
                                        "VALUES (:id, 'merge', 1, :retired, 'operator', '', :at)"),
                                   {"id": merge_id, "retired": retired, "at": _AT})
            connection.execute(text("INSERT INTO workflow_watermark (name, updated_at, document_row_id, changes, "
                                    "advanced_at) VALUES ('disease.cases.mpi', :at, 1, 1, :at)"), {"at": _AT})
        migrate(engine, "0018")
        with engine.connect() as connection:
            pending = connection.execute(text("SELECT merge_id FROM mpi_merge_pending ORDER BY merge_id")).scalars()
            assert pending.all() == [2, 3]  # the merges after the mark (1)
            assert connection.execute(text("SELECT name FROM workflow_watermark")).scalars().all() == []
        downgrade(engine, "0017")
        assert "mpi_merge_pending" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
