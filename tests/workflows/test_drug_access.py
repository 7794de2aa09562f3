"""Who may read what of a batch and of its recall in ``/api/drugs`` (SQLite and PostgreSQL): the caller's
scope cuts every answer as the console's pages are cut (``hub.workflows.drugs.scoped``); a member with no
stake in a batch is answered as for an unknown one; identified patients only for the dispensing provider
and a bureau with a grant, within its districts; the recall topic's subscribers learn no patient count.

``_supplied``: SUPPLIER01 (330106) ships to CLINIC01 and HOSP01 (330102), who dispense to patients 1-3.
``_south``: SUPPLIER01 also ships 50 to CLINIC02 (330105, BUREAU05's district), which dispenses to patient 4.
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.auth import issue
from hub.exchange.models import Reply
from hub.registry.access import create_grant
from hub.registry.actor import HUB_OPERATOR, Actor
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.drugs import router
from hub.workflows import subscriptions
from hub.workflows.drugs import recall
from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc, utcnow

from .drugdocs import AMOXICILLIN, dispense, movement, patient
from .test_drug_workflow import BATCH, DAY, _supplied

CALLERS = ("BUREAU", "BUREAU05", "CLINIC01", "CLINIC02", "CDC01")


@pytest.fixture
def api(store):
    """/api/drugs over the store; BUREAU05 is a district bureau of 330105 (CLINIC02's district)."""
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    with transaction(store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局",
                             kind="bureau", level=None, division_code="330105", parent_code=None, status="active")
        tokens = {m: issue(session, member=m, label="test", now=utcnow()) for m in CALLERS}
    client = TestClient(app)

    def call(method: str, path: str, member: str, **kwargs):
        return client.request(method, path, headers={"Authorization": f"Bearer {tokens[member]}"}, **kwargs)

    return call


def _south(store) -> None:
    store.deliver(movement("SUP-DM-3", institution="SUPPLIER01", movement_type="transfer",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC02", "institution"),
                           items=[(AMOXICILLIN, BATCH, 50, "2027-01-31")], at=DAY), member="SUPPLIER01")
    store.deliver(dispense("C2-DSP-1", institution="CLINIC02", who=patient(4), items=[(AMOXICILLIN, BATCH, 2)],
                           at=DAY + timedelta(days=1)), member="CLINIC02")
    assert store.process() == 2


def _as_unknown(api, path: str, member: str, **kwargs) -> None:
    """``path`` answers ``member`` exactly as it answers for a batch no document names."""
    answer = api("GET", path.format(batch=BATCH), member, **kwargs)
    unknown = api("GET", path.format(batch="NOSUCH"), member, **kwargs)
    assert (answer.status_code, answer.json()) == (unknown.status_code, unknown.json())
    assert (answer.status_code, answer.json()["code"]) == (404, "workflow.drug.not_found")


def _refusals(store, member: str) -> list[str]:
    with store.sessions() as session:
        return list(session.scalars(select(AuditEvent.code).where(
            AuditEvent.event_type == "record.access.deny", AuditEvent.member == member)))


def test_a_district_bureau_traces_only_the_holders_of_its_districts(store, api):
    _supplied(store)
    _as_unknown(api, "/api/drugs/batches/{batch}", "BUREAU05")  # the batch never reached 330105
    _south(store)
    (south,) = api("GET", f"/api/drugs/batches/{BATCH}", "BUREAU05").json()
    assert [(h["code"], h["in_scope"], h.get("stock")) for h in south["holders"]] == [
        ("CLINIC02", True, "48"), ("SUPPLIER01", False, None)]  # its source named at the boundary, no figures
    assert [(leg["from"], leg["to"]) for leg in south["legs"]] == [("SUPPLIER01", "CLINIC02")]
    assert [d["institution"] for d in south["dispensed"]] == ["CLINIC02"]
    assert "CLINIC01" not in str(south) and "HOSP01" not in str(south)
    (city,) = api("GET", f"/api/drugs/batches/{BATCH}", "BUREAU").json()  # a city bureau: everyone
    assert city["whole"] and [h["code"] for h in city["holders"]] == ["CLINIC01", "CLINIC02", "HOSP01", "SUPPLIER01"]


def test_a_district_bureau_reads_and_starts_recalls_within_its_districts_only(store, api):
    _supplied(store)
    with transaction(store.sessions) as session:
        north = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=utcnow()).id
    assert api("GET", "/api/drugs/recalls", "BUREAU05").json() == []
    assert [n["institution"] for n in api("GET", f"/api/drugs/recalls/{north}", "BUREAU").json()["institutions"]] == [
        "CLINIC01", "HOSP01"]
    hidden = api("GET", f"/api/drugs/recalls/{north}", "BUREAU05")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "workflow.recall.not_found")
    outside = api("POST", "/api/drugs/recalls", "BUREAU05", json={"batch": BATCH, "reason": "x"})
    unknown = api("POST", "/api/drugs/recalls", "BUREAU05", json={"batch": "NOSUCH", "reason": "x"})
    assert (outside.status_code, outside.json()) == (unknown.status_code, unknown.json())
    assert (outside.status_code, outside.json()["code"]) == (400, "workflow.recall.invalid")


def test_a_recall_of_both_districts_shows_a_district_bureau_its_own_lines(store, api):
    _supplied(store)
    _south(store)
    made = api("POST", "/api/drugs/recalls", "BUREAU05", json={"batch": BATCH, "reason": "质量缺陷"}).json()
    assert [(n["institution"], n["patients"]) for n in made["institutions"]] == [("CLINIC02", 1)]
    (listed,) = api("GET", "/api/drugs/recalls", "BUREAU05").json()
    assert [n["institution"] for n in listed["institutions"]] == ["CLINIC02"]
    assert listed["progress"] == {"confirmed": 0, "notified": 1}
    (whole,) = api("GET", "/api/drugs/recalls", "BUREAU").json()
    assert [n["institution"] for n in whole["institutions"]] == ["CLINIC01", "CLINIC02", "HOSP01"]
    (own,) = api("GET", "/api/drugs/recalls", "CLINIC01").json()
    assert [n["institution"] for n in own["institutions"]] == ["CLINIC01"]


def test_a_member_with_no_stake_in_a_batch_is_answered_as_for_an_unknown_batch(store, api):
    _supplied(store)
    for member in ("CLINIC02", "CDC01"):  # never received, held nor dispensed it
        _as_unknown(api, "/api/drugs/batches/{batch}", member)
        _as_unknown(api, "/api/drugs/batches/{batch}/patients", member)
    assert _refusals(store, "CLINIC02") == ["workflow.drug.not_found"] * 2  # the patients' reads, audited


def test_an_institution_with_a_stake_sees_its_own_figures_and_names_its_neighbours(store, api):
    _supplied(store)
    (part,) = api("GET", f"/api/drugs/batches/{BATCH}", "CLINIC01").json()
    assert [(h["code"], h["in_scope"], h.get("stock")) for h in part["holders"]] == [
        ("CLINIC01", True, "192"), ("SUPPLIER01", False, None)]
    assert [(leg["from"], leg["to"]) for leg in part["legs"]] == [("SUPPLIER01", "CLINIC01")]
    assert "HOSP01" not in str(part)
    (book,) = api("GET", f"/api/drugs/batches/{BATCH}/patients", "CLINIC01").json()
    assert book["identified"] == "own" and [e["institution"] for e in book["institutions"]] == ["CLINIC01"]
    assert sorted(p["dispense"] for p in book["institutions"][0]["identified"]) == ["C1-DSP-1", "C1-DSP-2"]


def test_a_granted_district_bureau_identifies_the_patients_of_its_districts_only(store, api):
    _supplied(store)
    with transaction(store.sessions) as session:
        create_grant(session, actor=Actor("BUREAU"), member="BUREAU05")
    _as_unknown(api, "/api/drugs/batches/{batch}/patients", "BUREAU05", params={"purpose": "public_health"})
    _south(store)
    (book,) = api("GET", f"/api/drugs/batches/{BATCH}/patients", "BUREAU05", params={"purpose": "public_health"}).json()
    assert book["identified"] == "all" and [e["institution"] for e in book["institutions"]] == ["CLINIC02"]
    assert [p["dispense"] for p in book["institutions"][0]["identified"]] == ["C2-DSP-1"]
    with store.sessions() as session:  # the one person shown is the one audited
        assert session.scalar(select(AuditEvent.detail).where(
            AuditEvent.event_type == "record.read.drug_patients", AuditEvent.member == "BUREAU05")) == \
            f"{AMOXICILLIN}:{BATCH}"


def test_a_recall_subscriber_learns_the_recall_and_how_many_institutions_but_no_patient_count(store):
    _supplied(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        subscriptions.subscribe(session, member="CLINIC02", topic="recall", filter=None, actor="CLINIC02", now=now)
        recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷：溶出度不合格", actor="BUREAU", now=now,
                    confirm_within=timedelta(hours=6))
    with store.sessions() as session:
        (told,) = [etree.fromstring(r.content) for r in session.scalars(
            select(Reply).where(Reply.member == "CLINIC02", Reply.kind == "recall"))]
        (own,) = [etree.fromstring(r.content) for r in session.scalars(
            select(Reply).where(Reply.member == "CLINIC01", Reply.kind == "recall"))]
    deadline = format_utc(now + timedelta(hours=6))
    assert {f.get("code"): f.get("value") for f in told.iter(q(WORKFLOW, "Fact"))} == {
        "drug": AMOXICILLIN, "batch": BATCH, "institutions": "2", "confirm_by": deadline}
    assert (told.findtext(q(WORKFLOW, "Count")), told.findtext(q(WORKFLOW, "Note"))) == ("2", "质量缺陷：溶出度不合格")
    assert list(told.iter(q(WORKFLOW, "Patient"))) == []
    # the institution concerned still hears of its own patients, by its own key
    assert own.findtext(q(WORKFLOW, "Count")) == "2" and len(list(own.iter(q(WORKFLOW, "Patient")))) == 2
