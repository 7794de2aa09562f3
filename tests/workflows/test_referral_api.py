"""/api/referrals: a party's worklist and moves over JSON (the same path as SOAP), a bureau's view by the
districts it governs, codes for moves out of turn, out of the table, or without what they need."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.auth import issue
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.referrals import router
from hub.workflows import run_pass
from protocol.timestamps import utcnow

from .referral_documents import referral

MEMBERS = ("CLINIC01", "HOSP01", "CLINIC02", "BUREAU", "BUREAU05")


@pytest.fixture
def api(store):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    store.deliver(referral("REF-1"))
    store.process()
    run_pass(store.sessions)
    with transaction(store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                             level=None, division_code="330105", parent_code=None, status="active")
        tokens = {member: issue(session, member=member, label="test", now=utcnow()) for member in MEMBERS}
    client = TestClient(app)

    def call(method: str, path: str, member: str, **kwargs):
        return client.request(method, path, headers={"Authorization": f"Bearer {tokens[member]}"}, **kwargs)

    return call


def test_worklists_by_party_and_district(api):
    (case,) = api("GET", "/api/referrals", "HOSP01").json()
    assert (case["from"], case["to"], case["state"], case["turn"], case["document_id"]) == (
        "CLINIC01", "HOSP01", "requested", "receiver", "REF-1")
    assert [c["id"] for c in api("GET", "/api/referrals", "CLINIC01").json()] == [case["id"]]
    assert [c["id"] for c in api("GET", "/api/referrals", "BUREAU").json()] == [case["id"]]  # the city's
    assert api("GET", "/api/referrals", "BUREAU05").json() == []  # 330105: neither party is there
    assert api("GET", "/api/referrals", "CLINIC02").json() == []
    assert api("GET", "/api/referrals", "HOSP01", params={"state": "accepted"}).json() == []
    refused = api("GET", f"/api/referrals/{case['id']}", "BUREAU05")
    assert (refused.status_code, refused.json()["code"]) == (404, "workflow.referral.not_found")


def test_moves_over_json(api):
    (case,) = api("GET", "/api/referrals", "HOSP01").json()
    path = f"/api/referrals/{case['id']}"
    for member, move, body, status, code in (
            ("CLINIC01", "accept", {"appointment": "2026-12-08T09:00:00+08:00"}, 403, "workflow.referral.turn"),
            ("HOSP01", "follow-up", {}, 409, "workflow.referral.transition"),
            ("HOSP01", "accept", {}, 400, "workflow.referral.invalid"),
            ("HOSP01", "accept", {"appointment": "2026-12-08 09:00"}, 400, "workflow.referral.invalid"),
            ("HOSP01", "promote", {}, 400, "workflow.referral.invalid"),
            ("BUREAU", "accept", {"appointment": "2026-12-08T09:00:00+08:00"}, 404, "workflow.referral.not_found"),
            ("HOSP01", "accept", {"appointment": 9}, 422, "request.invalid")):
        answer = api("POST", f"{path}/{move}", member, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (member, move, body)
    done = api("POST", f"{path}/accept", "HOSP01", json={"appointment": "2026-12-08T09:00:00+08:00",
                                                        "note": "上午门诊"}).json()
    assert (done["state"], done["appointment_at"], done["turn"]) == ("accepted", "2026-12-08T01:00:00+00:00",
                                                                     "receiver")
    assert [(e["action"], e["from"], e["to"], e["note"]) for e in done["history"]] == [
        ("open", None, "requested", None), ("accept", "requested", "accepted", "上午门诊")]
    cancelled = api("POST", f"{path}/cancel", "CLINIC01", json={"note": "患者改期"}).json()
    assert cancelled["state"] == "cancelled" and cancelled["ended_at"] is not None
