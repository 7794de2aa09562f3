"""The referral workflow as the runner drives it from stored Referral documents: an up-referral opens a
case and tells the hospital with the record summary; a new version changes nothing; a cancellation
cancels it; a redirect opens a case at the new hospital; a down-referral of the same person discharges
it and tells the clinic; the clinic confirms; overdue steps alert the party whose turn it is, once."""
from __future__ import annotations

from datetime import timedelta

from lxml import etree
from sqlalchemy import select

from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.workflows import notify, run_pass
from hub.workflows.models import Alert
from hub.workflows.referral import overdue, service
from hub.workflows.referral.models import ReferralCase
from protocol.ns import WORKFLOW, q
from protocol.timestamps import utcnow

from .referral_documents import OTHER_PATIENT, down_referral, referral
from .reports import cancellation


def _cases(store) -> list[tuple[str, str, str]]:
    with store.sessions() as session:
        return [(c.from_institution, c.to_institution, c.state)
                for c in session.scalars(select(ReferralCase).order_by(ReferralCase.id))]


def _told(store, member: str) -> list[etree._Element]:
    with store.sessions() as session:
        rows = session.scalars(select(Reply).where(Reply.member == member, Reply.kind == "referral")
                               .order_by(Reply.id)).all()
        found = [etree.fromstring(row.content) for row in rows]
    assert all(notify.schema().validate(root) for root in found)
    return found


def _kinds(found: list[etree._Element]) -> list[str]:
    return [root.findtext(q(WORKFLOW, "Kind")) for root in found]


def _case_id(store) -> int:
    with store.sessions() as session:
        return session.scalar(select(ReferralCase.id).order_by(ReferralCase.id.desc()).limit(1))


def test_a_round_trip(store):
    store.deliver(referral("REF-1"))
    store.process()
    run_pass(store.sessions)
    assert _cases(store) == [("CLINIC01", "HOSP01", "requested")]
    (request,) = _told(store, "HOSP01")
    assert request.findtext(q(WORKFLOW, "Kind")) == "referral.requested"
    summary = request.find(q(WORKFLOW, "Referral"))  # the receiving care provider sees the identified patient
    assert summary.findtext(f"{q(WORKFLOW, 'Patient')}/{q(WORKFLOW, 'Name')}") == "王秀英"
    assert summary.findtext(q(WORKFLOW, "Reason")).startswith("血压控制不佳")
    assert summary.find(q(WORKFLOW, "Diagnosis")).get("code") == "I10"
    assert summary.find(q(WORKFLOW, "Document")).get("extension") == "REF-1"

    store.deliver(referral("REF-1", version=2))  # a correction: the same case, nobody told again
    store.process()
    run_pass(store.sessions)
    assert _cases(store) == [("CLINIC01", "HOSP01", "requested")] and len(_told(store, "HOSP01")) == 1

    case_id = _case_id(store)
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=utcnow(),
                    appointment=utcnow() + timedelta(days=1))
    (accepted,) = _told(store, "CLINIC01")
    assert accepted.findtext(q(WORKFLOW, "Kind")) == "referral.accepted"
    assert {f.get("code") for f in accepted.iter(q(WORKFLOW, "Fact"))} >= {"appointment", "to"}
    assert accepted.find(q(WORKFLOW, "Referral")) is None  # the clinic wrote the referral: nothing to show it

    store.deliver(down_referral("DOWN-9", patient=OTHER_PATIENT), member="HOSP01")  # another patient: no case
    store.deliver(down_referral("DOWN-1"), member="HOSP01")
    store.process()
    run_pass(store.sessions)
    assert _cases(store) == [("CLINIC01", "HOSP01", "discharged")]
    discharged = _told(store, "CLINIC01")[-1]
    assert discharged.findtext(q(WORKFLOW, "Kind")) == "referral.discharged"
    assert discharged.findtext(f"{q(WORKFLOW, 'Referral')}/{q(WORKFLOW, 'Summary')}").startswith("出院后继续")

    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="follow_up", actor="CLINIC01", now=utcnow())
    assert _cases(store) == [("CLINIC01", "HOSP01", "followed_up")]
    assert _kinds(_told(store, "HOSP01")) == ["referral.requested", "referral.followed_up"]
    with store.sessions() as session:
        assert [e.action for e in service.history(session, case_id)] == ["open", "accept", "discharge", "follow_up"]
    assert run_pass(store.sessions).changes["referral.cases"] == 0


def test_cancelled_by_the_clinic_and_redirected_by_the_hospital(store):
    store.deliver(referral("REF-1"), referral("REF-2"))
    store.process()
    run_pass(store.sessions)
    store.deliver(cancellation("CXL-1", "REF-1"))
    store.process()
    run_pass(store.sessions)
    assert _cases(store) == [("CLINIC01", "HOSP01", "cancelled"), ("CLINIC01", "HOSP01", "requested")]
    assert _kinds(_told(store, "HOSP01")) == ["referral.requested", "referral.requested", "referral.cancelled"]

    with transaction(store.sessions) as session:
        service.act(session, case_id=_case_id(store), action="redirect", actor="HOSP01", now=utcnow(),
                    reason="out_of_scope", to="HOSP02")
    assert _cases(store)[1:] == [("CLINIC01", "HOSP01", "redirected"), ("CLINIC01", "HOSP02", "requested")]
    (asked,) = _told(store, "HOSP02")  # the new hospital gets the summary too
    assert asked.find(q(WORKFLOW, "Referral")) is not None
    redirected = _told(store, "CLINIC01")[-1]
    facts = {f.get("code"): f.get("value") for f in redirected.iter(q(WORKFLOW, "Fact"))}
    assert (redirected.findtext(q(WORKFLOW, "Kind")), facts["redirected_to"], facts["reason"]) == (
        "referral.redirected", "HOSP02", "out_of_scope")
    with store.sessions() as session:
        new = session.get(ReferralCase, _case_id(store))
        assert new.previous_id is not None and new.document_row_id == session.get(
            ReferralCase, new.previous_id).document_row_id


def test_an_overdue_answer_alerts_the_hospital_once_and_closes_when_answered(store):
    store.deliver(referral("REF-1"))
    store.process()
    run_pass(store.sessions)
    case_id = _case_id(store)
    with transaction(store.sessions) as session:
        assert overdue.check(session, utcnow() + timedelta(hours=47)) == 0
        assert overdue.check(session, utcnow() + timedelta(hours=49)) == 1
        assert overdue.check(session, utcnow() + timedelta(hours=60)) == 0  # the same step: not again
    with store.sessions() as session:
        (alert,) = session.scalars(select(Alert).where(Alert.kind == overdue.KIND)).all()
        assert (alert.owner, alert.institution, alert.district, alert.state, alert.count) == (
            "HOSP01", "HOSP01", "330102", "open", 1)
        assert session.scalar(select(Reply.kind).where(Reply.member == "HOSP01", Reply.kind == "alert")) == "alert"
    with transaction(store.sessions) as session:
        service.act(session, case_id=case_id, action="accept", actor="HOSP01", now=utcnow(),
                    appointment=utcnow() + timedelta(days=1))
    with store.sessions() as session:
        assert session.scalar(select(Alert.state).where(Alert.kind == overdue.KIND)) == "closed"
        # accepted: no deadline (a stay lasts what it lasts)
        assert session.get(ReferralCase, case_id).due_at is None
    with transaction(store.sessions) as session:
        assert overdue.check(session, utcnow() + timedelta(days=365)) == 0


def test_the_follow_up_deadline_is_the_clinics_and_a_full_pass_checks_it(store):
    store.deliver(referral("REF-1"))
    store.process()
    run_pass(store.sessions)
    with transaction(store.sessions) as session:
        service.act(session, case_id=_case_id(store), action="accept", actor="HOSP01", now=utcnow(),
                    appointment=utcnow())
    store.deliver(down_referral("DOWN-1"), member="HOSP01")
    store.process()
    result = run_pass(store.sessions)
    assert result.changes["referral.cases"] == 1 and result.changes[overdue.KIND] == 0
    with transaction(store.sessions) as session:
        case = session.get(ReferralCase, _case_id(store))
        case.due_at = utcnow() - timedelta(seconds=1)  # 14 days later
    assert run_pass(store.sessions).changes[overdue.KIND] == 1
    with store.sessions() as session:
        assert session.scalar(select(Alert.owner).where(Alert.kind == overdue.KIND)) == "CLINIC01"


def test_the_ticker_checks_deadlines_even_when_no_document_arrives(store):
    from hub.workflows.runner import CHECK_INTERVAL_S, WorkflowTicker

    now = [1000.0]
    ticker = WorkflowTicker(store.sessions, interval_s=2.0, clock=lambda: now[0])
    assert ticker(0) is not None  # the first tick catches up
    now[0] += 5.0
    assert ticker(0) is None  # nothing new, and the deadlines were checked a moment ago
    now[0] += CHECK_INTERVAL_S
    result = ticker(0)
    assert result is not None and result.changes[overdue.KIND] == 0


def test_the_summary_goes_only_where_the_access_rules_let_it(store):
    from hub.audit import AuditEvent

    store.deliver(referral("REF-1"), referral("REF-2", to="CDC01"))  # a CDC is no care provider
    store.process()
    run_pass(store.sessions)
    # a CDC is no hospital either: no case, nothing sent to it; the clinic is told, by codes only
    assert _cases(store) == [("CLINIC01", "HOSP01", "requested")] and _told(store, "CDC01") == []
    (to_hospital,), (to_clinic,) = _told(store, "HOSP01"), _told(store, "CLINIC01")
    assert to_hospital.find(q(WORKFLOW, "Referral")) is not None
    assert to_clinic.findtext(q(WORKFLOW, "Kind")) == "referral.refused"
    assert to_clinic.find(q(WORKFLOW, "Referral")) is None and "王秀英".encode() not in etree.tostring(to_clinic)
    with store.sessions() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "record.read.referral")).all()
        assert [(e.member, e.purpose) for e in reads] == [("HOSP01", "referral")] and reads[0].person_id
