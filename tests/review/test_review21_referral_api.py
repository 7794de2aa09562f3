"""Review of issue 21's referral JSON API (an outsider's failing tests): a refused move by a member
that is no party of the case leaves no trace in the audit."""
from __future__ import annotations

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.auth import issue
from hub.store.db import transaction
from hub.web.referrals import router
from protocol.timestamps import utcnow

from .test_review21_referral import _opened


def test_a_move_refused_to_a_member_that_is_no_party_is_audited(store):
    """Accountability: CLINIC02 tries to accept CLINIC01's referral to HOSP01: 404, and the audit shows nothing of it."""
    case_id = _opened(store)
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    with transaction(store.sessions) as session:
        token = issue(session, member="CLINIC02", label="test", now=utcnow())
    answer = TestClient(app).post(f"/api/referrals/{case_id}/accept", json={"appointment": "2030-01-01T09:00:00+08:00"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404 and answer.json()["code"] == "workflow.referral.not_found"
    with store.sessions() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.member == "CLINIC02",
                                                           AuditEvent.outcome == "failure")).all()
    assert [event.code for event in refused] == ["workflow.referral.not_found"]


def test_a_district_bureau_lists_its_districts_cases_however_many_others_changed_since(store):
    """Wrong number: BUREAU05's worklist filters the city's 1,000 newest cases; its own older case is not listed."""
    from datetime import timedelta

    from sqlalchemy import insert

    from hub.registry.actor import HUB_OPERATOR
    from hub.registry.service import register_institution
    from hub.workflows import run_pass
    from hub.workflows.referral.models import ReferralCase
    from tests.workflows.referral_documents import referral

    city_case = _opened(store, "REF-R6")
    store.deliver(referral("REF-R5", institution="CLINIC02", to="HOSP02"), member="CLINIC02")
    assert store.process() == 1
    run_pass(store.sessions)
    now = utcnow()
    with transaction(store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                             level=None, division_code="330105", parent_code=None, status="active")
        token = issue(session, member="BUREAU05", label="test", now=now)
        document_row_id = session.get(ReferralCase, city_case).document_row_id
        session.execute(insert(ReferralCase), [
            {"document_row_id": document_row_id, "from_institution": "CLINIC01", "to_institution": "HOSP01",
             "state": "redirected", "requested_at": now, "updated_at": now + timedelta(seconds=n)}
            for n in range(1000)])
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    answer = TestClient(app).get("/api/referrals", headers={"Authorization": f"Bearer {token}"})
    assert [(c["from"], c["to"]) for c in answer.json()] == [("CLINIC02", "HOSP02")]
