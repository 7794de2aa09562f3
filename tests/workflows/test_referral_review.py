"""Referral cases follow what the parties actually sent (the outside review of issue 21), on SQLite and
PostgreSQL: an appointment already past and a redirect back to a hospital the referral was at are refused;
an up-referral to no hospital opens no case and its sender is told; a corrected up-referral moves a
requested case to the hospital it now names (refused, and the sender told, once accepted); a cancellation
after the patient came is in the case's history and the hospital is told; a down-referral without a case
still reaches the clinic; every refused move is audited; the lists filter by scope in the query."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import insert, select

from hub.audit import AuditEvent
from hub.auth import issue
from hub.exchange.models import Reply
from hub.records.models import RecordDocument
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.web.referrals import router
from hub.workflows import notify, run_pass
from hub.workflows.errors import WorkflowError
from hub.workflows.referral import service, views
from hub.workflows.referral.models import ReferralCase
from protocol.ns import WORKFLOW, q
from protocol.timestamps import utcnow

from .referral_documents import down_referral, referral
from .reports import cancellation


def _run(store, *documents, member: str = "CLINIC01") -> None:
    store.deliver(*documents, member=member)
    assert store.process() == len(documents)
    run_pass(store.sessions)


def _opened(store, document_id: str = "REF-R1", to: str = "HOSP01") -> int:
    _run(store, referral(document_id, to=to))
    with store.sessions() as session:
        return session.scalar(select(ReferralCase.id).order_by(ReferralCase.id.desc()).limit(1))


def _told(store, member: str) -> list[etree._Element]:
    with store.sessions() as session:
        rows = session.scalars(select(Reply).where(Reply.member == member, Reply.kind == "referral")
                               .order_by(Reply.id)).all()
        found = [etree.fromstring(row.content) for row in rows]
    assert all(notify.schema().validate(root) for root in found)
    return found


def _facts(notice: etree._Element) -> dict[str, str]:
    return {f.get("code"): f.get("value") for f in notice.iter(q(WORKFLOW, "Fact"))}


def _refusals(store, member: str) -> list[tuple[str, str]]:
    with store.sessions() as session:
        return [(e.event_type, e.code) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.member == member, AuditEvent.outcome == "failure")
            .order_by(AuditEvent.id))]


def _api(store, *members: str):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    with transaction(store.sessions) as session:
        tokens = {member: issue(session, member=member, label="test", now=utcnow()) for member in members}
    client = TestClient(app)
    return lambda method, path, member, **kw: client.request(
        method, path, headers={"Authorization": f"Bearer {tokens[member]}"}, **kw)


def test_an_appointment_already_past_is_refused(store):
    case_id = _opened(store)
    now = utcnow()
    with transaction(store.sessions) as session, pytest.raises(WorkflowError) as refused:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=now,
                    appointment=now - timedelta(days=7))
    assert (refused.value.code, refused.value.fields["field"]) == ("workflow.referral.invalid", "appointment")
    with transaction(store.sessions) as session:  # within the clock skew allowed: taken
        case = service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=now,
                           appointment=now - service.CLOCK_SKEW + timedelta(minutes=5))
        assert case.state == "accepted"


def test_a_case_never_goes_back_to_a_hospital_it_passed_through(store):
    case_id = _opened(store)
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="redirect", actor="HOSP01", now=utcnow(), reason="no_capacity",
                    to="HOSP02")
        second = service.live_case(session, document_row_id=session.get(ReferralCase, case_id).document_row_id).id
    call = _api(store, "HOSP02")
    answer = call("POST", f"/api/referrals/{second}/redirect", "HOSP02", json={"to": "HOSP01", "reason": "other"})
    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (
        400, "workflow.referral.invalid", "to")
    assert len(_told(store, "HOSP01")) == 1  # its own request only: the summary is not sent again
    with store.sessions() as session:
        assert session.get(ReferralCase, second).state == "requested"
    assert _refusals(store, "HOSP02") == [(service.REFUSED, "workflow.referral.invalid")]


@pytest.mark.parametrize("to", ["CLINIC02", "CDC01", "NOBODY", "CLINIC01"])
def test_an_up_referral_to_no_hospital_opens_no_case_and_its_sender_is_told(store, to):
    _run(store, referral("REF-R2", to=to))
    with store.sessions() as session:
        assert session.scalars(select(ReferralCase)).all() == []
        kept = session.scalars(select(RecordDocument).where(RecordDocument.document_id == "REF-R2")).one()
        assert kept.status == "current"  # the clinical facts are kept
    (notice,) = _told(store, "CLINIC01")
    assert notice.findtext(q(WORKFLOW, "Kind")) == "referral.refused"
    assert _facts(notice) == {"code": "workflow.referral.invalid", "field": "toInstitution", "to": to}
    assert notice.find(q(WORKFLOW, "Referral")) is None and "王秀英".encode() not in etree.tostring(notice)
    assert _told(store, to) == [] or to == "CLINIC01"
    assert _refusals(store, "CLINIC01") == [(service.REFUSED, "workflow.referral.invalid")]


def test_a_down_referral_without_a_case_still_reaches_the_clinic(store):
    _run(store, down_referral("DOWN-R1"), member="HOSP01")
    with store.sessions() as session:
        assert session.scalars(select(ReferralCase)).all() == []
        reads = session.scalars(select(AuditEvent.member).where(AuditEvent.event_type == "record.read.referral")).all()
    (notice,) = _told(store, "CLINIC01")
    assert (notice.findtext(q(WORKFLOW, "Kind")), notice.findtext(q(WORKFLOW, "State"))) == (
        "referral.discharged", "discharged")
    assert [(s.get("type"), s.get("id")) for s in notice.iter(q(WORKFLOW, "Subject"))] == [("document", "DOWN-R1")]
    assert _facts(notice) == {"from": "HOSP01", "to": "CLINIC01"}
    # a care provider reads another's patient for the purpose referral: the care plan goes, audited as a read
    assert "两周后社区复查血压" in notice.findtext(q(WORKFLOW, "Referral") + "/" + q(WORKFLOW, "Summary"))
    assert reads == ["CLINIC01"]


def test_a_cancellation_after_arrival_is_in_the_history_and_the_hospital_is_told(store):
    case_id = _opened(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=now,
                    appointment=now + timedelta(days=1))
        service.act(session, case_id=case_id, action="arrive", actor="HOSP01", now=now)
    _run(store, cancellation("CXL-R1", "REF-R1"))
    with store.sessions() as session:
        said = [(e.actor, e.action, e.from_state, e.to_state) for e in service.history(session, case_id)]
        assert session.get(ReferralCase, case_id).state == "arrived"  # the stay goes on
    assert said[-1] == ("CLINIC01", "cancel", "arrived", "arrived")
    assert [n.findtext(q(WORKFLOW, "Kind")) for n in _told(store, "HOSP01")] == [
        "referral.requested", "referral.withdrawn"]
    _run(store, down_referral("DOWN-R2"), member="HOSP01")  # the hospital still discharges the case
    with store.sessions() as session:
        assert session.get(ReferralCase, case_id).state == "discharged"


def test_a_cancellation_of_a_closed_case_is_in_its_history(store):
    case_id = _opened(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=now,
                    appointment=now + timedelta(days=1))
        service.act(session, case_id=case_id, action="close", actor="HOSP01", now=now)
    _run(store, cancellation("CXL-R1", "REF-R1"))
    with store.sessions() as session:
        last = service.history(session, case_id)[-1]
        assert session.get(ReferralCase, case_id).state == "closed"
    assert (last.action, last.from_state, last.to_state, last.code) == (
        "cancel", "closed", "closed", "workflow.referral.transition")
    assert _told(store, "HOSP01")[-1].findtext(q(WORKFLOW, "Kind")) == "referral.withdrawn"
    assert _refusals(store, "CLINIC01") == [(service.REFUSED, "workflow.referral.transition")]


def test_a_corrected_up_referral_moves_a_requested_case_to_the_hospital_it_names(store):
    first = _opened(store)
    _run(store, referral("REF-R1", to="HOSP02", version=2))
    with store.sessions() as session:
        cases = [(c.id, c.to_institution, c.state, c.previous_id, c.decided_at)
                 for c in session.scalars(select(ReferralCase).order_by(ReferralCase.id))]
        said = [(e.actor, e.action) for e in service.history(session, first)]
    assert cases[0] == (first, "HOSP01", "redirected", None, None)  # no decision of HOSP01's
    assert cases[1][1:4] == ("HOSP02", "requested", first) and len(cases) == 2
    assert said[-1] == ("CLINIC01", "correct")
    withdrawn = _told(store, "HOSP01")[-1]
    assert withdrawn.findtext(q(WORKFLOW, "Kind")) == "referral.withdrawn" and "redirected_to" not in _facts(withdrawn)
    (asked,) = _told(store, "HOSP02")
    assert asked.findtext(q(WORKFLOW, "Kind")) == "referral.requested"
    assert asked.find(q(WORKFLOW, "Referral")) is not None  # the new hospital gets the summary
    _run(store, referral("REF-R1", to="HOSP01", version=3))  # back to a hospital it was at: nothing moves
    with store.sessions() as session:
        assert session.scalar(select(ReferralCase.to_institution).where(ReferralCase.state == "requested")) == "HOSP02"


def test_every_action_of_the_table_has_its_console_label():
    from hub.web.console.i18n import LABELS
    from hub.workflows.referral.states import Action

    assert [a.value for a in Action if f"worklist.action.{a.value}" not in LABELS] == []


def test_a_correction_to_no_hospital_is_refused_and_the_sender_told(store):
    case_id = _opened(store)
    _run(store, referral("REF-R1", to="CLINIC02", version=2))
    with store.sessions() as session:
        assert [(c.to_institution, c.state) for c in session.scalars(select(ReferralCase))] == [("HOSP01", "requested")]
        assert service.history(session, case_id)[-1].code == "workflow.referral.invalid"
    assert _facts(_told(store, "CLINIC01")[-1]) == {"code": "workflow.referral.invalid", "field": "toInstitution",
                                                    "to": "CLINIC02", "state": "requested"}
    assert _told(store, "CLINIC02") == []


def test_a_correction_after_acceptance_is_refused_and_the_sender_told(store):
    case_id = _opened(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=now,
                    appointment=now + timedelta(days=1))
    _run(store, referral("REF-R1", to="HOSP02", version=2))
    with store.sessions() as session:
        assert [(c.to_institution, c.state) for c in session.scalars(select(ReferralCase))] == [("HOSP01", "accepted")]
        last = service.history(session, case_id)[-1]
    assert (last.action, last.code) == ("correct", "workflow.referral.transition")
    assert _told(store, "HOSP02") == []
    notice = _told(store, "CLINIC01")[-1]
    assert notice.findtext(q(WORKFLOW, "Kind")) == "referral.refused"
    assert _facts(notice) == {"code": "workflow.referral.transition", "to": "HOSP02", "state": "accepted"}
    assert _refusals(store, "CLINIC01") == [(service.REFUSED, "workflow.referral.transition")]


def test_every_refused_move_is_audited(store):
    case_id = _opened(store)
    call = _api(store, "CLINIC02", "CLINIC01", "HOSP01")
    for member, move, body, status, code in (
            ("CLINIC02", "accept", {"appointment": "2030-01-01T09:00:00+08:00"}, 404, "workflow.referral.not_found"),
            ("CLINIC01", "accept", {"appointment": "2030-01-01T09:00:00+08:00"}, 403, "workflow.referral.turn"),
            ("HOSP01", "follow-up", {}, 409, "workflow.referral.transition"),
            ("HOSP01", "accept", {"appointment": "2030-01-01T09:00:00"}, 400, "workflow.referral.invalid")):
        answer = call("POST", f"/api/referrals/{case_id}/{move}", member, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code)
        assert _refusals(store, member)[-1] == (service.REFUSED, code)
    with store.sessions() as session:
        details = session.scalars(select(AuditEvent.detail).where(AuditEvent.event_type == service.REFUSED)
                                  .order_by(AuditEvent.id)).all()
    assert details == [f"workflow_referral:{case_id} {action}" for action in ("accept", "accept", "follow_up",
                                                                               "accept")]


def test_the_lists_filter_by_scope_in_the_query(store):
    city_case = _opened(store, "REF-R6")
    _run(store, referral("REF-R5", institution="CLINIC02", to="HOSP02"), member="CLINIC02")
    now = utcnow()
    with transaction(store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                             level=None, division_code="330105", parent_code=None, status="active")
        document_row_id = session.get(ReferralCase, city_case).document_row_id
        session.execute(insert(ReferralCase), [  # 1,000 newer cases elsewhere (330102)
            {"document_row_id": document_row_id, "from_institution": "CLINIC01", "to_institution": "HOSP01",
             "state": "redirected", "requested_at": now, "updated_at": now + timedelta(seconds=n)}
            for n in range(1000)])
    call = _api(store, "BUREAU05", "BUREAU")
    assert [(c["from"], c["to"]) for c in call("GET", "/api/referrals", "BUREAU05").json()] == [("CLINIC02", "HOSP02")]
    assert len(call("GET", "/api/referrals", "BUREAU").json()) == 200  # the city's newest 200
    with store.sessions() as session:  # what the console worklist asks: by side, in the query
        district = {"CLINIC02", "HOSP02"}
        assert [c.to_institution for c in views.worklist(session, member=None, institutions=district,
                                                          side="received")] == ["HOSP02"]
        assert [c.from_institution for c in views.worklist(session, member=None, institutions={"HOSP02"},
                                                            side="sent")] == []
        assert len(views.worklist(session, member=None, institutions={"CLINIC01"}, limit=5)) == 5
