"""What the outside review of issue 21 found in subscriptions, alert rights, the referral cube and the class 甲
alert, fixed: a member subscribes to the disease alerts of its own districts only (and hears of no other
at delivery), an institution an alert is only about reads it but does not move it, a redirected referral
counts for the hospital that accepted it, and one plague patient reported twice is one case.
(tests/review/test_review21_{subscriptions,alerts,referral_cube,surveillance}.py found them.)"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.errors import HubFault
from hub.audit import FAILURE, AuditEvent
from hub.auth import issue
from hub.exchange.models import Reply
from hub.mpi.merge import link
from hub.mpi.models import ReviewItem
from hub.records.models import RecordDocument
from hub.registry import seed_demo
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.alerts import router
from hub.workflows import alerts, notify, run_pass, subscriptions
from hub.workflows.class_a import KIND
from hub.workflows.errors import WorkflowError
from hub.workflows.models import Subscription
from hub.workflows.referral import service
from hub.workflows.referral.models import ReferralCase
from olap.cubes import execute, parse_query
from protocol.timestamps import utcnow
from tests.etl.conftest import etl  # noqa: F401 - the store, the processor and a mart (chDB, a ClickHouse server)
from tests.etl.test_referral_cube import _ask
from tests.mpi.conftest import ZHANG_ID
from tests.mpi.test_invalid_id import TYPO
from tests.workflows.test_end_to_end import hub_api  # noqa: F401 - the live hub's SOAP and JSON clients

from .cards import card, resident
from .referral_documents import referral
from .reports import PLAGUE, cancellation, disease_report


def _bureau05(session) -> None:
    register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                         level=None, division_code="330105", parent_code=None, status="active")


def _refusals(sessions, event_type: str) -> list[tuple]:
    with sessions() as session:
        return [(e.member, e.code, e.outcome, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id))]


# --- subscriptions: a district's disease alerts are for the members registered there -----------------------

def test_a_member_subscribes_to_its_own_districts_disease_alerts_only(store):
    now = utcnow()
    with transaction(store.sessions) as session:
        _bureau05(session)
        assert subscriptions.districts_of(session, "CLINIC02") == {"330105"}
        assert subscriptions.districts_of(session, "BUREAU05") == {"330105"}
        assert subscriptions.districts_of(session, "BUREAU") is None
        assert subscriptions.districts_of(session, "CDC01") is None
        for member, district in (("CLINIC02", "330105"), ("BUREAU05", "330105"), ("BUREAU", "330102"),
                                 ("BUREAU", None), ("CDC01", "330105"), ("CDC01", None)):
            subscriptions.subscribe(session, member=member, topic="alert.disease", filter=district, actor=member,
                                    now=now)
    for member, district in (("CLINIC02", "330102"), ("CLINIC02", None), ("BUREAU05", "330102"),
                             ("HOSP01", "330105"), ("UNKNOWN9", "330102")):
        with transaction(store.sessions) as session, pytest.raises(WorkflowError) as refused:
            subscriptions.subscribe(session, member=member, topic="alert.disease", filter=district, actor=member,
                                    now=now)
        assert (refused.value.code, refused.value.fields.get("field")) == ("workflow.subscription.scope", "filter")
    with store.sessions() as session:
        assert subscriptions.subscribers(session, topic="alert.disease", district="330105") == [
            "BUREAU", "BUREAU05", "CDC01", "CLINIC02"]
        assert subscriptions.subscribers(session, topic="alert.disease", district="330102") == ["BUREAU", "CDC01"]


def test_a_subscription_that_breaks_the_rule_is_not_delivered(store):
    """Made before the rule (no migration removes it): listed, removable, but never delivered."""
    with transaction(store.sessions) as session:
        for district in ("330102", "", "330105"):
            session.add(Subscription(member="CLINIC02", topic="alert.disease", filter=district, created_at=utcnow()))
    alert = SimpleNamespace(id=7, kind="disease.class_a", state="open", updated_at=utcnow(), district="330102",
                            institution=None,
                            count=1, facts='{"disease": "101"}')
    with transaction(store.sessions) as session:
        told = notify.publish(session, topic="alert.disease", notification=notify.for_alert(alert), district="330102",
                              now=utcnow())
        assert told == [] and subscriptions.subscribers(session, topic="alert.disease", district="330105") == [
            "CLINIC02"]
        assert len(subscriptions.list_for(session, member="CLINIC02")) == 3
        assert subscriptions.unsubscribe(session, member="CLINIC02", topic="alert.disease", filter="330102",
                                         actor="CLINIC02") == 1
    with store.sessions() as session:
        assert session.scalars(select(Reply.id).where(Reply.member == "CLINIC02")).all() == []


def test_over_soap_a_clinic_cannot_subscribe_to_another_districts_disease_alerts(hub_api, live_hub):  # noqa: F811
    workflow, api = hub_api
    with pytest.raises(HubFault) as refused:
        workflow("CLINIC02").subscribe("alert.disease", "330102")
    assert refused.value.code == "workflow.subscription.scope"
    with pytest.raises(HubFault) as everywhere:
        workflow("CLINIC02").subscribe("alert.disease")
    assert everywhere.value.code == "workflow.subscription.scope"
    assert workflow("CLINIC02").subscribe("alert.disease", "330105") is not None
    assert [(s.topic, s.filter) for s in workflow("CLINIC02").list_subscriptions()] == [("alert.disease", "330105")]
    assert _refusals(live_hub.hub.sessions, "subscription.reject") == [
        ("CLINIC02", "workflow.subscription.scope", FAILURE, "CLINIC02 alert.disease")] * 2
    # the bureau over JSON: the same rule for the member it subscribes, audited
    made = api("POST", "/api/subscriptions", "BUREAU", json={"member": "CLINIC02", "topic": "alert.disease",
                                                             "filter": "330102"})
    assert (made.status_code, made.json()["code"]) == (403, "workflow.subscription.scope")
    assert _refusals(live_hub.hub.sessions, "subscription.reject")[2:] == [
        ("BUREAU", "workflow.subscription.scope", FAILURE, "CLINIC02 alert.disease")]


# --- alert moves: the owner, or a bureau over the alert's district ----------------------------------------

@pytest.fixture
def alert_api(store):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    now = utcnow()
    with transaction(store.sessions) as session:
        _bureau05(session)
        ids = {}
        for key, owner in (("YP0001:AMX1:CLINIC02", "bureau"), ("YP0001:AMX2:CLINIC02", "bureau"),
                           ("YP0001:AMX3:CLINIC02", "CLINIC02")):
            ids[key] = alerts.raise_alert(session, kind="drug.dispense.excess", key=key, now=now, owner=owner,
                                          facts={"drug": "YP0001", "batch": key.split(":")[1]}, district="330105",
                                          institution="CLINIC02").alert.id
        tokens = {m: issue(session, member=m, label="test", now=now) for m in ("BUREAU05", "CLINIC02", "HOSP01")}
    client = TestClient(app)

    def call(path: str, member: str):
        return client.post(path, json={"note": "已处理"}, headers={"Authorization": f"Bearer {tokens[member]}"})

    return SimpleNamespace(call=call, ids=ids, sessions=store.sessions)


def _state(sessions, alert_id: int) -> str:
    with sessions() as session:
        return session.get(alerts.Alert, alert_id).state


def test_an_institution_reads_the_bureaus_alert_against_it_but_cannot_move_it(alert_api):
    bureau_owned, owned = alert_api.ids["YP0001:AMX1:CLINIC02"], alert_api.ids["YP0001:AMX3:CLINIC02"]
    for action in ("close", "acknowledge"):
        refused = alert_api.call(f"/api/alerts/{bureau_owned}/{action}", "CLINIC02")
        assert (refused.status_code, refused.json()["code"]) == (403, "workflow.alert.denied")
    assert _state(alert_api.sessions, bureau_owned) == "open"
    assert _refusals(alert_api.sessions, "alert.reject") == [
        ("CLINIC02", "workflow.alert.denied", FAILURE, f"workflow_alert:{bureau_owned}")] * 2
    outside = alert_api.call(f"/api/alerts/{bureau_owned}/close", "HOSP01")  # another institution: not even seen
    assert (outside.status_code, outside.json()["code"]) == (404, "workflow.alert.not_found")
    # the owner moves its own; the bureau over the district moves the bureau's
    assert alert_api.call(f"/api/alerts/{owned}/close", "CLINIC02").json()["state"] == "closed"
    assert alert_api.call(f"/api/alerts/{bureau_owned}/close", "BUREAU05").json()["state"] == "closed"


def test_the_move_rule_is_one_function_for_the_api_and_the_console(store):
    with store.sessions() as session:
        alert = alerts.Alert(kind="drug.dispense.excess", key="k", district="330105", institution="CLINIC02",
                             owner="bureau")
    institution = alerts.AlertScope(districts=frozenset({"330105"}), institutions=frozenset({"CLINIC02"}))
    district_bureau = alerts.AlertScope(districts=frozenset({"330105"}))
    assert institution.sees(alert) and not institution.may_move(alert)
    assert district_bureau.may_move(alert) and alerts.AlertScope().may_move(alert)
    assert not alerts.AlertScope(districts=frozenset({"330102"})).may_move(alert)
    alert.owner = "CLINIC02"
    assert institution.may_move(alert)
    now = utcnow()
    with transaction(store.sessions) as session:
        alert_id = alerts.raise_alert(session, kind="drug.dispense.excess", key="k2", now=now, facts={},
                                      district="330105", institution="CLINIC02").alert.id
    with transaction(store.sessions) as session, pytest.raises(WorkflowError) as refused:
        alerts.close(session, alert_id=alert_id, actor="CLINIC02", now=now + timedelta(seconds=1), scope=institution)
    assert refused.value.code == "workflow.alert.denied"


# --- the class 甲 alert counts cases: one person and disease, whichever institutions report it -----------

def _class_a(store) -> list[tuple[str, int]]:
    with store.sessions() as session:
        return [(a.key, a.count) for a in session.scalars(select(alerts.Alert).where(alerts.Alert.kind == KIND)
                                                          .order_by(alerts.Alert.id))]


def _alert_notices(store, member: str) -> list[str]:
    with store.sessions() as session:
        return [content for content in session.scalars(select(Reply.content).where(
            Reply.member == member, Reply.kind == "alert").order_by(Reply.id))]


def test_one_plague_patient_reported_by_two_institutions_is_one_case_told_once(store):
    with transaction(store.sessions) as session:
        subscriptions.subscribe(session, member="CLINIC01", topic="alert.disease", filter="330102", actor="CLINIC01",
                                now=utcnow())
    store.deliver(disease_report("R-P1", disease=PLAGUE))
    store.deliver(disease_report("R-P2", disease=PLAGUE, institution="HOSP01"), member="HOSP01")
    assert store.process() == 2
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 1)]
    assert len(_alert_notices(store, "CLINIC01")) == 1  # once per case, not per card

    store.deliver(card("R-P3", patient=resident(31), disease=PLAGUE, institution="HOSP01"), member="HOSP01")
    store.process()
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 2)] and len(_alert_notices(store, "CLINIC01")) == 2

    store.deliver(cancellation("CXL-P1", "R-P1"))  # the case keeps HOSP01's card: still two cases, no news
    store.process()
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 2)] and len(_alert_notices(store, "CLINIC01")) == 2
    store.deliver(cancellation("CXL-P2", "R-P2", institution="HOSP01"), member="HOSP01")  # the case is gone
    store.process()
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 1)] and len(_alert_notices(store, "CLINIC01")) == 3
    assert run_pass(store.sessions).total == 0


# --- the referral cube: a redirected referral is the accepting hospital's, a redirect the redirecting one's --

def test_a_redirected_referral_counts_for_the_hospital_that_accepted_it(etl):  # noqa: F811
    with transaction(etl.store.sessions) as session:
        seed_demo(session)
    etl.deliver(*(referral(f"REF-MISC-{n:02d}") for n in range(13)))  # 13: above the small-cell floor
    run_pass(etl.store.sessions)
    now = utcnow()
    with transaction(etl.store.sessions) as session:
        for case_id in session.scalars(select(ReferralCase.id).order_by(ReferralCase.id)).all():
            service.act(session, case_id=case_id, action="redirect", actor="HOSP01", now=now, reason="no_capacity",
                        to="HOSP02")
        for case_id in session.scalars(select(ReferralCase.id).where(ReferralCase.to_institution == "HOSP02")
                                       .order_by(ReferralCase.id)).all()[:10]:
            service.act(session, case_id=case_id, action="accept", actor="HOSP02", now=now,
                        appointment=now + timedelta(days=1))
    etl.run()
    by_target = _ask(etl)
    assert set(by_target) == {"HOSP02"}, by_target  # HOSP01 holds none of them any more
    assert (by_target["HOSP02"]["referrals"], by_target["HOSP02"]["accepted"]) == (13, 10)
    today = (utcnow() + timedelta(hours=8)).date()
    body = {"measures": ["referrals", "redirected", "accepted"], "group_by": ["redirect.institution"],
            "period": {"from": "2026-11-01", "to": today.isoformat()}}
    by_redirect = {cell["redirect.institution"]: cell
                   for cell in execute(etl.mart, parse_query("referrals", body, today=today))["cells"]}
    assert (by_redirect["HOSP01"]["redirected"], by_redirect["HOSP01"]["accepted"]) == (13, 10)
    assert etl.live("fact_referral", "to_institution_code, redirected_by").drop_duplicates().values.tolist() == [
        ["HOSP02", "HOSP01"]]


def test_an_alert_counted_by_cards_before_is_recounted_by_cases(store):
    """An incident counted by the rule before cases (one occurrence per card) is brought to its cases
    when its cards next change: the two cards of one patient become one case, no second alert."""
    store.deliver(disease_report("R-L1", disease=PLAGUE), disease_report("R-L2", disease=PLAGUE))
    store.process()
    with store.sessions() as session:
        rows = session.scalars(select(RecordDocument.id).where(RecordDocument.document_id.in_(["R-L1", "R-L2"]))
                               .order_by(RecordDocument.id)).all()
    with transaction(store.sessions) as session:  # what the card-counting handler left
        for row in rows:
            alerts.raise_alert(session, kind=KIND, key="101:330102", now=utcnow(), facts={"disease": "101"},
                               district="330102", occurrence=f"record_document:{row}")
    assert _class_a(store) == [("101:330102", 2)]
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 1)]
    assert run_pass(store.sessions).total == 0 and _class_a(store) == [("101:330102", 1)]


def test_an_mpi_merge_joins_two_plague_cases_into_one_in_the_class_a_alert(store):
    """The hospital typed the patient's resident ID one digit off: two persons, two cases; the operator accepts
    the index's review item and the persons are merged: the next pass (no new card) counts one case, and
    tells the district's subscribers so."""
    with transaction(store.sessions) as session:
        subscriptions.subscribe(session, member="CLINIC01", topic="alert.disease", filter="330102", actor="CLINIC01",
                                now=utcnow())
    typed = {"resident_id": TYPO, "name": "章伟", "birth_date": "1986-03-12"}  # as test_surveillance_relink.py
    clinic = {"resident_id": ZHANG_ID, "name": "张伟", "sex": "1", "birth_date": "1985-03-12", "division": "330102"}
    store.deliver(card("M-H", patient=typed, disease=PLAGUE, institution="HOSP01"), member="HOSP01")
    store.process()
    store.deliver(card("M-C", patient=clinic, disease=PLAGUE))
    store.process()
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 2)] and len(_alert_notices(store, "CLINIC01")) == 2
    with transaction(store.sessions) as session:
        [review_id] = session.scalars(select(ReviewItem.id).where(ReviewItem.status == "open")).all()
        link(session, review_id=review_id, accept=True, actor="operator", now=utcnow())
    run_pass(store.sessions)
    assert _class_a(store) == [("101:330102", 1)] and len(_alert_notices(store, "CLINIC01")) == 3
