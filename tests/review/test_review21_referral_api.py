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
