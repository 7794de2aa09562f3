"""Review of issue 21's two-way referral (an outsider's failing tests): moves the hub takes that it
should refuse (an appointment in the past, a redirect back to a hospital that already passed the
patient on, an up-referral to a non-hospital) and a down-referral the clinic never hears of."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.workflows import run_pass
from hub.workflows.errors import WorkflowError
from hub.workflows.referral import service
from hub.workflows.referral.models import ReferralCase
from protocol.timestamps import utcnow
from tests.workflows.referral_documents import down_referral, referral


def _opened(store, document_id: str = "REF-R1", to: str = "HOSP01") -> int:
    store.deliver(referral(document_id, to=to))
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        return session.scalar(select(ReferralCase.id).order_by(ReferralCase.id.desc()).limit(1))


def test_an_acceptance_with_an_appointment_in_the_past_is_refused(store):
    """Wrong input taken: HOSP01 accepts with an appointment a week ago; the clinic is told to send the patient then."""
    case_id = _opened(store)
    with transaction(store.sessions) as session, pytest.raises(WorkflowError) as refused:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=utcnow(),
                    appointment=utcnow() - timedelta(days=7))
    assert refused.value.code == "workflow.referral.invalid"


def test_a_referral_is_not_redirected_back_to_a_hospital_that_redirected_it(store):
    """Flood: HOSP01 → HOSP02 → HOSP01 → … each redirect opens a case and sends the patient's summary again."""
    case_id = _opened(store)
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="redirect", actor="HOSP01", now=utcnow(), reason="no_capacity",
                    to="HOSP02")
        second = service.live_case(session, document_row_id=session.get(ReferralCase, case_id).document_row_id)
        assert second.to_institution == "HOSP02"
    with transaction(store.sessions) as session, pytest.raises(WorkflowError) as refused:
        service.act(session, case_id=second.id, action="redirect", actor="HOSP02", now=utcnow(),
                    reason="no_capacity", to="HOSP01")
    assert refused.value.code == "workflow.referral.invalid"


def test_an_up_referral_to_another_clinic_opens_no_case(store):
    """Wrong workflow: an up-referral addressed to a community clinic (not a hospital) opens a case there."""
    store.deliver(referral("REF-R2", to="CLINIC02"))
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        assert session.scalars(select(ReferralCase)).all() == []


def test_a_down_referral_without_an_open_up_referral_still_reaches_the_clinic(store):
    """Loss: a hospital discharges a patient to CLINIC01 with a care plan, no case was open: the clinic is told nothing."""
    store.deliver(down_referral("DOWN-R1"), member="HOSP01")
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        told = session.scalars(select(Reply).where(Reply.member == "CLINIC01", Reply.kind == "referral")).all()
    assert len(told) == 1


def test_a_cancelled_up_referral_after_arrival_is_in_the_case_history(store):
    """Loss: the clinic cancels its up-referral after the patient arrived; the case's history says nothing of it."""
    from tests.workflows.reports import cancellation

    case_id = _opened(store)
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=utcnow(),
                    appointment=utcnow() + timedelta(days=1))
        service.act(session, case_id=case_id, action="arrive", actor="HOSP01", now=utcnow())
    store.deliver(cancellation("CXL-R1", "REF-R1"))
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        said = [(event.action, event.note or "") for event in service.history(session, case_id)]
    assert any("cancel" in action or "cancel" in note for action, note in said), said



def test_a_corrected_up_referral_naming_another_hospital_reaches_that_hospital(store):
    """Loss: the clinic corrects its up-referral (version 2) to HOSP02; the case stays at HOSP01, HOSP02 is never told."""
    _opened(store)
    store.deliver(referral("REF-R1", to="HOSP02", version=2))
    assert store.process() == 1
    run_pass(store.sessions)
    with store.sessions() as session:
        live = [(c.to_institution, c.state) for c in session.scalars(select(ReferralCase).order_by(ReferralCase.id))
                if c.state not in ("cancelled", "redirected")]
        told = session.scalars(select(Reply.id).where(Reply.member == "HOSP02", Reply.kind == "referral")).all()
    assert live == [("HOSP02", "requested")] and len(told) == 1
