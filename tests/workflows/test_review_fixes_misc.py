"""What the outside review of issue 21 found in subscriptions, alert rights, the referral cube and the class 甲
alert, fixed: a member subscribes to the disease alerts of its own districts only (and hears of no other
at delivery), an institution an alert is only about reads it but does not move it, a redirected referral
counts for the hospital that accepted it, and one plague patient reported twice is one case."""
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
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.alerts import router
from hub.workflows import alerts, notify, run_pass, subscriptions
from hub.workflows.errors import WorkflowError
from hub.workflows.models import Subscription
from protocol.timestamps import utcnow
from tests.workflows.test_end_to_end import hub_api  # noqa: F401 - the live hub's SOAP and JSON clients


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
        assert subscriptions.districts_of(session, "BUREAU") is None and subscriptions.districts_of(session, "CDC01") is None
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
