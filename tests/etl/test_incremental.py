"""Incremental, idempotent loading: every scenario on SQLite × chDB and PostgreSQL × a ClickHouse server
(``etl_dialects``: each dialect of the OLTP reader and of the mart once).

Each test changes the OLTP store the way members and operators do (new documents, corrections,
cancellations, backfills, MPI merges, a crash in the middle of a run) and checks the mart's exact
contents (and, for corrections across months and backfills, the rollups and reconcile).
"""
from __future__ import annotations

import time
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from etl import jobs
from etl.facts import SOURCES
from etl.reconcile import reconcile
from hub.mpi.merge import merge as merge_persons
from hub.records.models import Encounter, LabResult
from hub.store.db import transaction
from olap.schema.versions import table
from protocol.timestamps import utcnow
from tests.support.documents import document
from tests.support.migrated import migrated_engine

SOURCE_FACTS = [source.fact for source in SOURCES]

V = "{urn:hie:doc:v1}"
WANG = {"resident_id": "330106196804120022", "name": "王秀英", "sex": "2", "birth_date": "1968-04-12"}  # synthetic


@pytest.fixture
def etl(etl_dialects):
    return etl_dialects


def _visit(document_id: str, *, version: int = 1, patient=None, institution: str = "CLINIC01",
           when: str | None = None):
    doc = document("OutpatientVisit", institution=institution, document_id=document_id, version=version,
                   patient=patient)
    if when:
        doc.find(f"{V}header/{V}effectiveTime").set("value", when)
        for element in doc.iter(f"{V}visitTime", f"{V}time"):
            element.set("value", when)
    return doc


def _exact(etl) -> None:
    """Reconcile finds no difference and the monthly visit rollup sums to the live facts."""
    differences = reconcile(etl.store.sessions, etl.mart)
    assert (differences["difference"] == 0).all(), differences[differences["difference"] != 0]
    facts = etl.live("fact_outpatient_visit", "date")
    facts = facts.groupby(facts["date"].astype(str).str[:7]).size().to_dict()
    rollup = etl.live("rollup_visits_institution_month", "date, visits")
    rollup = rollup.groupby(rollup["date"].astype(str).str[:7])["visits"].sum().astype(int).to_dict()
    rollup = {month: n for month, n in rollup.items() if n}
    assert rollup == facts


def test_first_run_loads_everything_and_a_rerun_adds_nothing(etl):
    etl.deliver(_visit("V-1"), _visit("V-2"), document("LabReport", document_id="L-1"))
    first = etl.run()
    assert first.per_fact["fact_outpatient_visit"]["written"] == 2
    assert etl.count("fact_outpatient_visit") == 2
    assert etl.count("fact_lab_test") == 4  # the example report has four results
    assert etl.count("fact_exchange_message") == 3
    # the same window again (overlap) and a second time: rows are replaced, never added
    etl.run()
    etl.run(overlap=jobs.timedelta(days=3650))
    assert etl.count("fact_outpatient_visit") == 2 and etl.count("fact_lab_test") == 4
    rollup = etl.live("rollup_visits_institution_day", "sum(visits) AS visits")
    assert int(rollup["visits"].iloc[0]) == 2
    assert (reconcile(etl.store.sessions, etl.mart)["difference"] == 0).all()


def test_a_schema_version_that_rebuilds_the_facts_makes_the_next_run_reload_them(etl):
    """The mart is derived: when a schema version drops and re-creates the fact tables (as version 5
    did to rename their lineage columns), the next incremental run loads every fact again, and the
    run after it is incremental again."""
    etl.deliver(_visit("V-1"), _visit("V-2"), document("LabReport", document_id="L-1"))
    etl.run()
    before = etl.live("fact_outpatient_visit", "fact_key, document_row_id, message_row_id").sort_values("fact_key")
    for name in SOURCE_FACTS:  # what apply_schema does for a REBUILD version: drop, create, record it
        etl.mart.drop_table(table(name))
        etl.mart.create_table(table(name))
    at = pd.Timestamp.now(tz="UTC")
    etl.mart.insert_df("mart_schema_version", pd.DataFrame({
        "schema_version": [5], "description": ["rebuilt again"], "applied_at": [at],
        "version": [int(at.timestamp() * 1_000_000)]}))
    assert etl.count("fact_outpatient_visit") == 0
    time.sleep(1.1)  # the mart keeps the rebuild's time to the second: this run's watermarks come after it
    reload = etl.run()
    assert reload.watermark_from == ""  # from the beginning: the old watermarks predate the rebuild
    assert reload.per_fact["fact_outpatient_visit"]["written"] == 2 and etl.count("fact_lab_test") == 4
    after = etl.live("fact_outpatient_visit", "fact_key, document_row_id, message_row_id").sort_values("fact_key")
    assert after.reset_index(drop=True).equals(before.reset_index(drop=True))
    _exact(etl)
    assert etl.run().watermark_from != ""  # incremental again


def test_a_correction_replaces_its_facts_and_a_cancellation_retracts_them(etl):
    etl.deliver(document("LabReport", document_id="L-1"), _visit("V-1"))
    etl.run()
    corrected = document("LabReport", document_id="L-1", version=2)
    body = corrected.find("{urn:hie:doc:v1}body")
    for result in body.findall("{urn:hie:doc:v1}result")[2:]:
        body.remove(result)  # version 2 reports two results instead of four
    etl.deliver(corrected)
    etl.run()
    live = etl.live("fact_lab_test", "fact_key, document_row_id")
    assert len(live) == 2
    with etl.store.sessions() as session:
        current = {f"record_lab_result:{row_id}" for row_id in session.scalars(select(LabResult.id))}
    assert set(live["fact_key"]) == current  # the four keys of version 1 are retracted
    etl.deliver(document("Cancellation", document_id="C-1"))  # cancels CLINIC01-LAB-2026-000877 …
    cancelled = document("Cancellation", document_id="C-2")
    cancelled.find("{urn:hie:doc:v1}body/{urn:hie:doc:v1}target").set("extension", "L-1")
    etl.deliver(cancelled)
    etl.run()
    assert etl.count("fact_lab_test") == 0
    assert etl.count("fact_outpatient_visit") == 1  # untouched
    assert (reconcile(etl.store.sessions, etl.mart)["difference"] == 0).all()


def test_a_corrected_visit_moves_to_its_new_day_and_the_rollup_follows(etl):
    etl.deliver(_visit("V-1"), _visit("V-2"))
    etl.run()
    moved = _visit("V-1", version=2)
    moved.find("{urn:hie:doc:v1}header/{urn:hie:doc:v1}effectiveTime").set("value", "2026-11-23T09:30:00+08:00")
    for element in moved.iter("{urn:hie:doc:v1}visitTime", "{urn:hie:doc:v1}time"):
        element.set("value", "2026-11-23T09:30:00+08:00")
    etl.deliver(moved)
    etl.run()
    facts = etl.live("fact_outpatient_visit", "date, fact_key")
    assert len(facts) == 2
    rollup = etl.live("rollup_visits_institution_day", "date, visits")
    by_day = {str(day)[:10]: int(visits) for day, visits in zip(rollup["date"], rollup["visits"])}
    expected = facts.assign(day=facts["date"].astype(str).str[:10]).groupby("day").size().to_dict()
    assert by_day == expected
    assert sum(by_day.values()) == 2


def test_a_merge_rekeys_the_retired_persons_facts(etl):
    alice = {"name": "合成甲", "sex": "2", "birth_date": "1990-01-01", "phone": "13900000001"}  # synthetic
    other = {"name": "合成乙", "sex": "1", "birth_date": "1950-06-30", "phone": "13900000002"}  # synthetic
    etl.deliver(_visit("V-A", patient=alice), _visit("V-B", patient=other))
    etl.run()
    keys = etl.live("fact_outpatient_visit", "fact_key, person_key, age_band")
    assert keys["person_key"].nunique() == 2
    assert set(keys["age_band"]) == {"15-44", "65+"}
    with etl.store.sessions() as session:
        persons = dict(session.execute(select(Encounter.document_ref, Encounter.person_id)).all())
    survivor, retired = sorted(set(persons.values()))
    with transaction(etl.store.sessions) as session:
        merge_persons(session, survivor_id=survivor, retired_id=retired, actor="test", reason="same person",
                        now=utcnow())
    result = etl.run()
    assert result.per_fact["fact_outpatient_visit"]["read"] >= 2
    after = etl.live("fact_outpatient_visit", "person_key")
    assert after["person_key"].nunique() == 1
    assert after["person_key"].iloc[0] == etl.pseudonymize.one(survivor)


def test_a_crash_in_the_middle_of_a_run_is_repaired_by_the_next_run(etl, monkeypatch):
    etl.deliver(_visit("V-1"), document("LabReport", document_id="L-1"), document("Immunization", document_id="I-1"))
    real_insert = jobs.load.insert
    calls = {"n": 0}

    def crash_after_two(mart, fact, frames):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real_insert(mart, fact, frames)

    monkeypatch.setattr(jobs.load, "insert", crash_after_two)
    with pytest.raises(RuntimeError):
        etl.run()
    monkeypatch.setattr(jobs.load, "insert", real_insert)
    state = jobs.status(etl.store.sessions)
    assert state["runs"][0]["status"] == "failed" and state["watermarks"] == {}  # the watermark did not move
    etl.run()
    assert etl.count("fact_outpatient_visit") == 1 and etl.count("fact_lab_test") == 4
    assert etl.count("fact_immunization") == 1
    assert (reconcile(etl.store.sessions, etl.mart)["difference"] == 0).all()


def test_rejected_messages_count_in_exchange_health_without_facts(etl):
    bad = _visit("V-BAD")
    bad.find("{urn:hie:doc:v1}body/{urn:hie:doc:v1}department").set("code", "NOPE")
    etl.deliver(bad, _visit("V-OK"))
    etl.run()
    messages = etl.live("fact_exchange_message", "status, error_code, is_rejected, lateness_hours, institution_code")
    assert sorted(messages["status"]) == ["processed", "rejected"]
    rejected = messages[messages["is_rejected"] == 1].iloc[0]
    assert rejected["error_code"] == "record.code.unknown" and rejected["institution_code"] == "CLINIC01"
    assert etl.count("fact_outpatient_visit") == 1


def test_status_records_counts_and_watermarks(etl):
    etl.deliver(_visit("V-1"))
    result = etl.run()
    state = jobs.status(etl.store.sessions)
    latest = state["runs"][0]
    assert latest["id"] == result.run_id and latest["status"] == "finished"
    assert latest["rows_read"] == result.rows_read >= 2 and latest["rows_written"] == result.rows_written
    assert set(state["watermarks"]) == {"documents", "messages", "merges"}


def test_dimensions_follow_the_registry_code_lists_and_the_mpi(etl):
    alice = {"name": "合成丙", "sex": "2", "birth_date": "1990-01-01", "phone": "13900000003"}  # synthetic
    etl.deliver(_visit("V-1", patient=alice), _visit("V-2"))
    first = etl.run()
    assert first.dimensions["dim_date"] > 3000 and first.dimensions["dim_diagnosis"] > 0
    assert first.dimensions["dim_person"] == 2
    persons = etl.live("dim_person", "person_key, sex, age_band, division_code")
    visits = etl.live("fact_outpatient_visit", "person_key")
    assert set(visits["person_key"]) == set(persons["person_key"])  # every fact's person is in the dimension
    assert "合成丙" not in persons.to_string() and "1990-01-01" not in persons.to_string()
    diagnosis = etl.live("dim_diagnosis", "code, chapter_code", "code = 'I10'")
    assert list(diagnosis["chapter_code"]) == ["IX"]  # I10 rolls up to chapter IX (circulatory system)
    second = etl.run()
    assert "dim_date" not in second.dimensions  # nothing they are built from changed: not even compared
    etl.deliver(_visit("V-3"))
    with etl.store.sessions.kw["bind"].begin() as connection:
        connection.exec_driver_sql("UPDATE record_diagnosis SET code = 'J06.9' WHERE id = 1")
    third = etl.run()
    assert third.dimensions["dim_date"] == 0 and third.dimensions["dim_diagnosis"] >= 0


@pytest.mark.clickhouse
def test_a_two_shard_cluster_gets_the_same_exact_answers(request, tmp_path, cluster_olap, chdb_olap):
    from hub.store.db import session_factory
    from olap.schema.migrate import apply_schema
    from tests.etl.conftest import Etl
    from tests.support.inbox import Store

    # one OLTP backend: the cluster is under test
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    marts = {"cluster": Etl(store, cluster_olap), "single": Etl(store, chdb_olap)}
    for etl in marts.values():
        apply_schema(etl.mart)
    store.deliver(*[_visit(f"V-{n}") for n in range(12)], document("LabReport", document_id="L-1"))
    store.process()
    for etl in marts.values():
        etl.run()
    corrected = _visit("V-3", version=2)
    corrected.find("{urn:hie:doc:v1}body/{urn:hie:doc:v1}visitTime").set("value", "2026-11-24T10:00:00+08:00")
    store.deliver(corrected)
    store.process()
    for etl in marts.values():
        etl.run()
    answers = {name: etl.mart.query_df(
        "SELECT date, count() AS visits, sum(total_fen) AS fen FROM (SELECT * FROM fact_outpatient_visit FINAL) "
        "WHERE deleted = 0 GROUP BY date ORDER BY date") for name, etl in marts.items()}
    assert answers["cluster"].to_dict("list") == answers["single"].to_dict("list")
    assert int(answers["cluster"]["visits"].sum()) == 12
    assert (reconcile(store.sessions, cluster_olap)["difference"] == 0).all()
    engine.dispose()


def test_an_institution_moving_district_moves_its_weeks_in_the_district_rollup(etl):
    from hub.registry.models import Institution, Region

    now = utcnow()
    with transaction(etl.store.sessions) as session:
        session.add_all([Region(code="330100", name="杭州市", level="city", parent_code=None),
                         Region(code="330105", name="拱墅区", level="district", parent_code="330100"),
                         Region(code="330106", name="西湖区", level="district", parent_code="330100"),
                         Institution(code="CLINIC01", name="合成测试诊所", kind="clinic", division_code="330106",
                                     created_at=now, updated_at=now)])
    etl.deliver(_visit("V-1"), _visit("V-2"))
    etl.run()
    weeks = "SELECT district_code, sum(visits) AS visits FROM (SELECT * FROM rollup_visits_district_week FINAL) " \
            "WHERE deleted = 0 GROUP BY district_code HAVING visits > 0"
    assert etl.mart.query_df(weeks).to_dict("records") == [{"district_code": "330106", "visits": 2}]
    with transaction(etl.store.sessions) as session:  # a redistricting: no new document at all
        clinic = session.get(Institution, "CLINIC01")
        clinic.division_code, clinic.updated_at = "330105", utcnow()
    result = etl.run()
    assert "rollup_visits_district_week" in result.rollups
    assert etl.mart.query_df(weeks).to_dict("records") == [{"district_code": "330105", "visits": 2}]


def test_correcting_the_newest_document_moves_it_across_a_month(etl):
    # the last document's rows have the highest ids: a new version may get the same ids back
    etl.deliver(_visit("V-1", when="2026-10-31T23:59:00+08:00"), _visit("V-2", when="2026-10-31T23:59:00+08:00"))
    etl.run()
    etl.deliver(_visit("V-2", version=2, when="2026-11-01T00:01:00+08:00"))
    etl.run()
    assert etl.count("fact_outpatient_visit") == 2
    _exact(etl)


def test_a_backfill_over_cancelled_and_corrected_documents_stays_exact(etl):
    etl.deliver(_visit("V-1", when="2026-10-31T23:59:00+08:00"), _visit("V-2", when="2026-10-15T10:00:00+08:00"))
    etl.run()
    cancel = document("Cancellation", document_id="C-1")
    cancel.find(f"{V}body/{V}target").set("extension", "V-1")
    etl.deliver(cancel, _visit("V-2", version=2, when="2026-09-30T08:00:00+08:00"))
    jobs.backfill(etl.store.sessions, etl.mart, etl.pseudonymize, start=date(2026, 10, 1), end=date(2026, 10, 31))
    october = reconcile(etl.store.sessions, etl.mart)  # the backfilled range is exact (messages: by received day)
    october = october[(october["fact"] != "fact_exchange_message") & (october["date"] >= date(2026, 10, 1))
                      & (october["date"] <= date(2026, 10, 31))]
    assert (october["difference"] == 0).all(), october
    etl.run()
    _exact(etl)
    assert etl.count("fact_outpatient_visit") == 1
