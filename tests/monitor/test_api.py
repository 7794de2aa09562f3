"""Each /api/monitor endpoint's numbers against what the scenario sent through the exchange (conftest).

The tests only read what the scenario sent, so one hub and one scenario serve the module on each backend
(``db_url``, ``hub``, ``exchange`` and ``api`` are module-scoped here with the conftest's own recipes);
the last test, which adds ETL runs, comes after the one that finds none."""
from __future__ import annotations

import pytest

from tests.support.databases import empty_database

from .conftest import PATIENT, monitor_api, monitor_hub, send_scenario, window


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory):
    yield from empty_database(request, tmp_path_factory.mktemp("monitor"), "hub")


@pytest.fixture(scope="module")
def hub(request, tmp_path_factory, db_url, monitor_pki):
    yield from monitor_hub(request, tmp_path_factory.mktemp("monitor-hub"), db_url, monitor_pki)


@pytest.fixture(scope="module")
def exchange(hub, credentials, monitor_pki):
    return send_scenario(hub, credentials, monitor_pki)


@pytest.fixture(scope="module")
def api(hub):
    return monitor_api(hub)


def _by_member(rows: list[dict]) -> dict[str, dict]:
    summed: dict[str, dict] = {}
    for row in rows:
        into = summed.setdefault(row["member"], {})
        for name, value in row.items():
            if isinstance(value, int):
                into[name] = into.get(name, 0) + value
    return summed


def test_traffic_counts_what_was_sent(exchange, api):
    answer = api("BUREAU").get("/api/monitor/traffic", params=window(exchange))
    assert answer.status_code == 200, answer.text
    assert _by_member(answer.json()["rows"]) == {
        None: {"received": 1, "accepted": 0, "refused": 1, "processed": 0, "rejected": 0, "pending": 0},  # expired
        "CLINIC01": {"received": 3, "accepted": 2, "refused": 1, "processed": 1, "rejected": 1, "pending": 0},
        "HOSP01": {"received": 2, "accepted": 2, "refused": 0, "processed": 1, "rejected": 0, "pending": 1}}
    assert answer.json()["totals"]["received"] == 6
    daily = api("BUREAU").get("/api/monitor/traffic", params={**window(exchange), "grain": "day"}).json()
    assert _by_member(daily["rows"]) == _by_member(answer.json()["rows"])
    assert all(row["start"].endswith("T00:00:00+08:00") for row in daily["rows"])  # China-local days


def test_rejections_by_code_with_their_meaning(exchange, api):
    answer = api("BUREAU").get("/api/monitor/rejections", params=window(exchange))
    assert answer.status_code == 200, answer.text
    rows = {(row["stage"], row["code"]): row for row in answer.json()["rejections"]}
    assert set(rows) == {("gate", "exchange.document.invalid"), ("gate", "security.timestamp.expired"),
                         ("processing", "record.author.mismatch")}
    gate = rows["gate", "exchange.document.invalid"]
    assert (gate["count"], gate["members"], gate["http_status"]) == (1, 1, 400)
    assert gate["message"].startswith("Document must hold exactly one")
    expired = rows["gate", "security.timestamp.expired"]
    assert (expired["count"], expired["members"], expired["message"]) == (1, 0, "message timestamp has expired")
    processing = rows["processing", "record.author.mismatch"]
    assert (processing["count"], processing["http_status"]) == (1, 403)
    assert processing["message"] == "document author institution is not the sending member"
    # the same meaning in Chinese, for the console's page: the code stays the machine code
    assert processing["message_zh"] == "文档的作者机构不是发送成员"
    assert expired["message_zh"] == "报文时间戳已过期" and gate["message_zh"].startswith("Document 必须恰好含")
    assert [f["count"] for f in processing["fields"]] == [1] and processing["fields"][0]["field"].startswith("/")


def test_silent_members_are_the_care_providers_that_sent_nothing(exchange, api):
    answer = api("BUREAU").get("/api/monitor/silent", params={"quiet_hours": 1})
    assert answer.status_code == 200, answer.text
    silent = {row["member"]: row for row in answer.json()["members"]}
    assert set(silent) == {"CLINIC02", "CLINIC03", "HOSP02"}  # CDC, supplier, bureaus: not care providers
    assert all(row["last_received_at"] is None for row in silent.values())  # never heard from
    assert [row["member"] for row in api("B0105").get("/api/monitor/silent").json()["members"]] == ["CLINIC02", "HOSP02"]
    assert api("CLINIC01").get("/api/monitor/silent").json()["members"] == []


def test_silent_members_say_when_they_were_last_heard_from(hub, exchange):
    from datetime import timedelta

    from hub.monitor import silent_members

    later = exchange.started + timedelta(hours=3)
    with hub.sessions() as session:
        silent = {row["member"]: row for row in silent_members(session, scope=None, now=later,
                                                                quiet_for=timedelta(hours=1))}
    assert set(silent) == {"CLINIC01", "HOSP01", "CLINIC02", "CLINIC03", "HOSP02"}
    assert list(silent)[:3] == ["CLINIC02", "CLINIC03", "HOSP02"]  # never heard from: first
    assert silent["CLINIC01"]["last_received_at"] < silent["HOSP01"]["last_received_at"]  # HOSP01 sent last
    assert 3 * 3600 - 60 < silent["CLINIC01"]["silent_s"] <= 3 * 3600


def test_backlog_counts_the_message_awaiting_processing(exchange, api):
    answer = api("BUREAU").get("/api/monitor/backlog").json()
    assert answer["count"] == 1 and answer["age_s"] >= 0
    assert [(row["member"], row["count"]) for row in answer["members"]] == [("HOSP01", 1)]
    assert api("CLINIC01").get("/api/monitor/backlog").json()["count"] == 0


def test_journey_of_a_rejected_message_shows_code_and_field_and_no_payload(exchange, api):
    answer = api("CLINIC01").get(f"/api/monitor/journey/{exchange.ids['rejected']}")
    assert answer.status_code == 200, answer.text
    [trip] = answer.json()["journeys"]
    steps = {step["step"]: step for step in trip["steps"]}
    assert [step["step"] for step in trip["steps"]] == ["received", "gate", "stored", "rejected", "reply"]
    assert steps["gate"]["verdict"] == "passed" and len(steps["stored"]["document_sha256"]) == 64
    assert steps["rejected"]["code"] == "record.author.mismatch" and steps["rejected"]["field"]
    assert steps["rejected"]["message_zh"] == "文档的作者机构不是发送成员"
    assert steps["reply"]["kind"] == "ack" and steps["reply"]["fetched_at"] is not None
    for value in (PATIENT["name"], PATIENT["resident_id"], PATIENT["birth_date"]):
        assert value not in answer.text


def test_journey_of_a_refused_and_of_a_processed_message(exchange, api):
    [refused] = api("BUREAU").get(f"/api/monitor/journey/{exchange.ids['refused']}").json()["journeys"]
    assert refused["member"] == "CLINIC01" and not refused["stored"]
    assert [(s["step"], s["stage"], s["code"]) for s in refused["steps"]] == [
        ("refused", "gate", "exchange.document.invalid")]
    [processed] = api("B0102").get(f"/api/monitor/journey/{exchange.ids['processed']}").json()["journeys"]
    assert [s["step"] for s in processed["steps"]] == ["received", "gate", "stored", "processed", "reply"]
    [pending] = api("HOSP01").get(f"/api/monitor/journey/{exchange.ids['pending']}",
                                  params={"member": "HOSP01"}).json()["journeys"]
    assert pending["steps"][-1] == {"step": "pending", "at": None}


def test_etl_runs_are_for_bureaus(exchange, api):
    answer = api("BUREAU").get("/api/monitor/etl")
    assert answer.status_code == 200 and answer.json()["runs"] == [], answer.text
    refused = api("CLINIC01").get("/api/monitor/etl")
    assert refused.status_code == 403 and refused.json()["code"] == "access.denied"


def test_etl_runs_and_watermark_lag(hub, api):
    import json
    from datetime import timedelta

    from etl.models import EtlRun, EtlWatermark, RunKind, RunStatus
    from hub.store.db import transaction
    from protocol.timestamps import utcnow

    from hub.monitor import etl as monitor_etl

    assert (monitor_etl.FINISHED, monitor_etl.FAILED) == (RunStatus.FINISHED.value, RunStatus.FAILED.value)
    now = utcnow()
    with transaction(hub.sessions) as session:  # what etl.jobs records for a finished and a failed run
        session.add(EtlRun(kind=RunKind.INCREMENTAL.value, status=RunStatus.FINISHED.value,
                           started_at=now - timedelta(minutes=10), finished_at=now - timedelta(minutes=9),
                           rows_read=7, rows_written=7, rows_rejected=0, watermark_from="", watermark_to="w",
                           detail=json.dumps({"facts": {"fact_encounter": {"read": 7, "written": 7, "rejected": 0}}})))
        session.add(EtlRun(kind=RunKind.INCREMENTAL.value, status=RunStatus.FAILED.value,
                           started_at=now - timedelta(minutes=5), finished_at=now - timedelta(minutes=5),
                           rows_read=0, rows_written=0, rows_rejected=0, watermark_from="", watermark_to="",
                           detail=json.dumps({"error": "OlapError", "code": "olap.unavailable"})))
        session.add(EtlWatermark(feed="messages", value=(now - timedelta(minutes=9)).isoformat(), run_id=1,
                                 updated_at=now - timedelta(minutes=9)))
    answer = api("BUREAU").get("/api/monitor/etl", params={"limit": 5}).json()
    assert [(run["status"], run["error_code"]) for run in answer["runs"]] == [("failed", "olap.unavailable"),
                                                                             ("finished", None)]
    assert answer["runs"][1]["seconds"] == 60 and answer["runs"][1]["facts"]["fact_encounter"]["written"] == 7
    [feed] = answer["watermarks"]
    assert feed["feed"] == "messages" and 9 * 60 <= feed["lag_s"] < 11 * 60
    assert 9 * 60 <= answer["last_finished_age_s"] < 11 * 60
