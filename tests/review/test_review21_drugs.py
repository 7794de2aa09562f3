"""Review of issue 21's drug recall (an outsider's failing tests): scoping of the bureau's JSON API,
a recall flagged again after the batch reached someone new, and the overdue alert after confirmation."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.auth import issue
from hub.exchange.models import Reply
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.drugs import router
from hub.workflows.drugs import recall
from hub.workflows.models import Alert
from protocol.timestamps import utcnow
from tests.workflows.drugdocs import AMOXICILLIN, movement
from tests.workflows.test_drug_workflow import BATCH, DAY, _supplied


@pytest.fixture
def drugs_api(store):
    """/api/drugs over the store; BUREAU05 governs district 330105 only (CLINIC01 and HOSP01 are in 330102)."""
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    now = utcnow()
    with transaction(store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                             level=None, division_code="330105", parent_code=None, status="active")
        tokens = {m: issue(session, member=m, label="test", now=now) for m in ("BUREAU", "BUREAU05", "CLINIC02")}
    client = TestClient(app)

    def call(method: str, path: str, member: str, **kwargs):
        return client.request(method, path, headers={"Authorization": f"Bearer {tokens[member]}"}, **kwargs)

    return call


def test_a_district_bureau_does_not_see_another_districts_holders_of_a_batch(store, drugs_api):
    """Leak: BUREAU05 (330105) reads the stock and dispenses of CLINIC01 and HOSP01 (330102) in the batch trace."""
    _supplied(store)
    answer = drugs_api("GET", f"/api/drugs/batches/{BATCH}", "BUREAU05")
    shown = str(answer.json())
    assert answer.status_code in (200, 403, 404)
    assert "CLINIC01" not in shown and "HOSP01" not in shown


def test_a_district_bureau_does_not_see_another_districts_recall_figures(store, drugs_api):
    """Leak: BUREAU05 (330105) lists the recall notices of CLINIC01 and HOSP01 (330102) with their patient counts."""
    _supplied(store)
    with transaction(store.sessions) as session:
        recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=utcnow())
    answer = drugs_api("GET", "/api/drugs/recalls", "BUREAU05")
    assert answer.status_code == 200
    assert [n["institution"] for r in answer.json() for n in r["institutions"]] == []


def test_an_institution_that_received_a_recalled_batch_later_is_told_when_the_recall_is_flagged_again(store):
    """Loss: CLINIC02 receives the batch after its recall; flagging it again returns the old recall and tells no one."""
    _supplied(store)
    with transaction(store.sessions) as session:
        recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=utcnow())
    store.deliver(movement("C2-DM-1", institution="CLINIC02", movement_type="receipt",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC02", "institution"),
                           items=[(AMOXICILLIN, BATCH, 50, "2027-01-31")], at=DAY + timedelta(days=3)),
                  member="CLINIC02")
    assert store.process() == 1
    with transaction(store.sessions) as session:
        recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=utcnow())
    with store.sessions() as session:
        told = set(session.scalars(select(Reply.member).where(Reply.kind == "recall")))
    assert "CLINIC02" in told


def test_a_recall_overdue_alert_is_closed_once_the_institution_confirms(store):
    """Usability: HOSP01 confirms a recall late; the recall completes but its drug.recall.overdue alert stays open."""
    _supplied(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        found = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=now,
                            confirm_within=timedelta(hours=1))
        recall_id = found.id
    with transaction(store.sessions) as session:
        recall.sync(session, now=now + timedelta(hours=2))
    with transaction(store.sessions) as session:
        session.execute(update(Reply).where(Reply.kind == "recall").values(acked_at=now + timedelta(hours=3)))
    with transaction(store.sessions) as session:
        recall.sync(session, now=now + timedelta(hours=4))
        assert recall.as_dict(session, recall.get_or_raise(session, recall_id=recall_id))["complete"]
    with store.sessions() as session:
        states = {a.key: a.state for a in session.scalars(select(Alert).where(Alert.kind == "drug.recall.overdue"))}
    assert states and set(states.values()) == {"closed"}


def test_a_recall_subscriber_that_never_had_the_batch_learns_no_patient_count(store):
    """Leak (small): CLINIC02 subscribes to recall over SOAP and learns how many patients (3) received a batch it never had."""
    from lxml import etree

    from hub.workflows import subscriptions
    from protocol.ns import WORKFLOW, q

    _supplied(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        subscriptions.subscribe(session, member="CLINIC02", topic="recall", filter=None, actor="CLINIC02", now=now)
        recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=now)
    with store.sessions() as session:
        told = [etree.fromstring(r.content) for r in session.scalars(
            select(Reply).where(Reply.member == "CLINIC02", Reply.kind == "recall"))]
    facts = {f.get("code"): f.get("value") for root in told for f in root.iter(q(WORKFLOW, "Fact"))}
    assert "patients" not in facts


def test_a_clinic_with_no_stake_in_a_batch_does_not_read_other_institutions_dispensing_figures(store, drugs_api):
    """Leak: any member (CLINIC02, never had the batch) reads each institution's dispenses, patients and quantity."""
    _supplied(store)
    answer = drugs_api("GET", f"/api/drugs/batches/{BATCH}/patients", "CLINIC02")
    shown = [e["institution"] for book in (answer.json() if answer.status_code == 200 else [])
             for e in book["institutions"]]
    assert shown == []


def test_a_district_bureau_with_a_grant_does_not_see_another_districts_patients_identified(store, drugs_api):
    """Leak: BUREAU05 (330105) with an identified grant reads the names of 330102's patients who received a batch."""
    from hub.registry.access import create_grant
    from hub.registry.actor import Actor

    _supplied(store)
    with transaction(store.sessions) as session:
        create_grant(session, actor=Actor("BUREAU"), member="BUREAU05")
    answer = drugs_api("GET", f"/api/drugs/batches/{BATCH}/patients", "BUREAU05", params={"purpose": "public_health"})
    names = [p["name"] for book in (answer.json() if answer.status_code == 200 else [])
             for e in book["institutions"] for p in e.get("identified", [])]
    assert names == []


def test_one_members_wrong_expiry_date_does_not_raise_expired_alerts_against_the_others(store, monkeypatch):
    """Wrong number / flood: CLINIC02 files a receipt of the batch with a mistyped expiry (2024); every
    other institution that dispensed the batch gets a drug.dispense.expired alert (the batch's expiry is the earliest)."""
    from hub.workflows import run_pass
    from hub.workflows.drugs import anomalies

    monkeypatch.setattr(anomalies, "SETTLE", timedelta(0))
    _supplied(store)
    store.deliver(movement("C2-DM-9", institution="CLINIC02", movement_type="receipt",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC02", "institution"),
                           items=[(AMOXICILLIN, BATCH, 10, "2024-01-31")], at=DAY + timedelta(days=3)),
                  member="CLINIC02")
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        expired = sorted(a.institution for a in session.scalars(
            select(Alert).where(Alert.kind == "drug.dispense.expired")))
    assert expired == []


def test_a_member_cannot_raise_an_excess_alert_against_another_by_claiming_a_transfer_from_it(store, monkeypatch):
    """Wrong number: CLINIC02 files a receipt of 195 'from CLINIC01'; CLINIC01 (200 received, 8 dispensed, no
    transfer of its own) is then alerted for dispensing more than it received."""
    from hub.workflows import run_pass
    from hub.workflows.drugs import anomalies

    monkeypatch.setattr(anomalies, "SETTLE", timedelta(0))
    _supplied(store)
    run_pass(store.sessions)
    store.deliver(movement("C2-DM-8", institution="CLINIC02", movement_type="receipt",
                           source=("CLINIC01", "institution"), target=("CLINIC02", "institution"),
                           items=[(AMOXICILLIN, BATCH, 195, "2027-01-31")], at=DAY + timedelta(days=3)),
                  member="CLINIC02")
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        excess = sorted(a.institution for a in session.scalars(
            select(Alert).where(Alert.kind == "drug.dispense.excess")))
    assert "CLINIC01" not in excess


def test_a_counterfeit_batch_is_alerted_after_its_settle_time_without_another_drug_document(store, monkeypatch):
    """Loss: batches wait SETTLE to be judged, but only a later drug document (or `hie drugs check`) judges
    them: the region's last dispense of a batch no one received never raises drug.batch.unknown."""
    import time

    from hub.workflows import run_pass
    from hub.workflows.drugs import anomalies
    from tests.workflows.drugdocs import AMLODIPINE, dispense, patient

    monkeypatch.setattr(anomalies, "SETTLE", timedelta(milliseconds=200))
    store.deliver(dispense("C2-DSP-9", institution="CLINIC02", who=patient(9), items=[(AMLODIPINE, "FAKE9", 2)],
                           at=DAY), member="CLINIC02")
    assert store.process() == 1
    run_pass(store.sessions)
    time.sleep(0.4)
    run_pass(store.sessions)  # what the processor's ticker does from now on, with no new document
    with store.sessions() as session:
        kinds = [a.kind for a in session.scalars(select(Alert))]
    assert kinds == ["drug.batch.unknown"]


def test_an_unconfirmed_recall_is_alerted_overdue_by_the_workflow_passes(store):
    """Loss: drug.recall.overdue is raised only when a drug document arrives or someone reads the recalls, not by a pass."""
    import time

    from hub.workflows import run_pass

    _supplied(store)
    run_pass(store.sessions)
    with transaction(store.sessions) as session:
        recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=utcnow(),
                    confirm_within=timedelta(milliseconds=200))
    time.sleep(0.4)
    run_pass(store.sessions)
    with store.sessions() as session:
        overdue = [a.key for a in session.scalars(select(Alert).where(Alert.kind == "drug.recall.overdue"))]
    assert len(overdue) == 2


def test_a_recall_reason_with_a_control_character_is_refused_with_a_code(store, drugs_api):
    """Usability: a reason pasted with a control character (\\x0b) is a server.error (500), not a refusal with a field."""
    _supplied(store)
    answer = drugs_api("POST", "/api/drugs/recalls", "BUREAU", json={"batch": BATCH, "reason": "质量缺陷\x0b批次"})
    assert (answer.status_code, answer.json()["code"]) in ((400, "request.invalid"), (400, "workflow.recall.invalid"))
