"""/api/alerts and /api/subscriptions: scoped lists, moves with notes, the bureau's subscriptions, codes."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.auth import issue
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.alerts import router
from hub.workflows import alerts
from protocol.timestamps import utcnow


@pytest.fixture
def api(store):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    now = utcnow()
    with transaction(store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                             level=None, division_code="330105", parent_code=None, status="active")
        for key, institution in (("101:330102", None), ("102:330105", None), ("201:330105", "CLINIC02")):
            alerts.raise_alert(session, kind="disease.class_a", key=key, now=now, facts={"disease": key[:3]},
                               district=key[4:], institution=institution,
                               owner=institution or "bureau")  # CLINIC02 owns its alert: it may close it
        tokens = {m: issue(session, member=m, label="test", now=now) for m in ("BUREAU", "BUREAU05", "CLINIC02")}
    client = TestClient(app)

    def call(method: str, path: str, member: str, **kwargs):
        return client.request(method, path, headers={"Authorization": f"Bearer {tokens[member]}"}, **kwargs)

    return call


def _keys(answer) -> list[str]:
    return sorted(alert["key"] for alert in answer.json())


def test_each_caller_sees_its_scope_and_filters_narrow_it(api):
    assert _keys(api("GET", "/api/alerts", "BUREAU")) == ["101:330102", "102:330105", "201:330105"]
    assert _keys(api("GET", "/api/alerts", "BUREAU05")) == ["102:330105", "201:330105"]
    assert _keys(api("GET", "/api/alerts", "CLINIC02")) == ["201:330105"]
    assert _keys(api("GET", "/api/alerts", "BUREAU", params={"district": "330105", "state": "open"})) == [
        "102:330105", "201:330105"]
    assert api("GET", "/api/alerts", "BUREAU", params={"state": "shut"}).json()["code"] == "request.invalid"


def test_moves_within_scope_only_with_history(api):
    ids = {alert["key"]: alert["id"] for alert in api("GET", "/api/alerts", "BUREAU").json()}
    outside = api("POST", f"/api/alerts/{ids['101:330102']}/close", "BUREAU05", json={"note": "n"})
    assert (outside.status_code, outside.json()["code"]) == (404, "workflow.alert.not_found")
    assert api("GET", f"/api/alerts/{ids['101:330102']}", "CLINIC02").status_code == 404
    closed = api("POST", f"/api/alerts/{ids['201:330105']}/close", "CLINIC02", json={"note": "已排除"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    detail = api("GET", f"/api/alerts/{ids['201:330105']}", "BUREAU05").json()
    assert [(e["actor"], e["action"], e["note"]) for e in detail["history"]] == [
        ("hub", "open", None), ("CLINIC02", "close", "已排除")]
    bad_note = api("POST", f"/api/alerts/{ids['102:330105']}/acknowledge", "BUREAU", json={"note": 5})
    assert (bad_note.status_code, bad_note.json()["code"]) == (422, "request.invalid")


def test_the_bureau_manages_subscriptions_others_are_refused(api):
    made = api("POST", "/api/subscriptions", "BUREAU", json={"member": "CLINIC01", "topic": "alert.disease",
                                                              "filter": "330102"})
    assert made.status_code == 200 and made.json()["filter"] == "330102"
    assert [s["member"] for s in api("GET", "/api/subscriptions", "BUREAU").json()] == ["CLINIC01"]
    assert api("GET", "/api/subscriptions", "CLINIC02").json()["code"] == "access.denied"
    refused = api("POST", "/api/subscriptions", "CLINIC02", json={"member": "CLINIC02", "topic": "recall"})
    assert (refused.status_code, refused.json()["code"]) == (403, "access.denied")
    wrong = api("POST", "/api/subscriptions", "BUREAU", json={"member": "CLINIC01", "topic": "gossip"})
    assert (wrong.status_code, wrong.json()["code"], wrong.json().get("field")) == (
        400, "workflow.subscription.invalid", "topic")
    gone = api("POST", "/api/subscriptions/remove", "BUREAU", json={"member": "CLINIC01", "topic": "alert.disease",
                                                                    "filter": "330102"})
    assert gone.json() == {"removed": 1} and api("GET", "/api/subscriptions", "BUREAU").json() == []
