"""Referral cases: open one per up-referral, move it by the state table, tell the other party, audit.

Every move goes through ``act`` (or ``open_case`` / ``discharge`` / ``cancel_by_document`` for what the
documents do): the state table decides (``states.check_move``), the case and its history are written,
the other party gets a ``referral`` reply (``notices``) and the move is audited (``referral.<action>``,
detail ``workflow_referral:<id>``). The actor is a member code (or ``hub`` for what documents do); a
member that is neither party of the case does not see it (``workflow.referral.not_found``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import audit
from ...records.models import RecordDocument
from ...registry.models import Institution
from ...store.db import transaction
from ..alerts import HUB_ACTOR
from ..errors import WorkflowError
from . import notices, overdue
from .models import ReferralCase, ReferralEvent, ReferralState
from .states import ACCEPTED_STATES, DOCUMENT_ACTIONS, TRANSITIONS, Action, Party, check_move

MAX_NOTE = 2000
# why a hospital rejects or redirects a referral (code → 中文): a fixed list, never free text
REASONS: dict[str, str] = {
    "no_capacity": "床位或号源不足",
    "out_of_scope": "不属本院诊疗范围",
    "incomplete": "转诊资料不全",
    "not_indicated": "无转诊指征",
    "patient_declined": "患者拒绝",
    "other": "其他",
}
HOSPITAL_KINDS = frozenset({"hospital"})  # a registry kind (hub.registry.models.KINDS) a referral goes up to
# how far before the hub's clock an appointment may be (the hospital's clock may be behind; an appointment
# further in the past would send the patient to a time that has gone)
CLOCK_SKEW = timedelta(hours=1)
REFUSED = "referral.refuse"  # the audit event of a refused move (outcome failure, its code)


def get_or_raise(session: Session, *, case_id: int, member: str | None = None) -> ReferralCase:
    """The case (locked for update); ``workflow.referral.not_found`` if there is none or ``member`` is no party."""
    case = session.scalars(select(ReferralCase).where(ReferralCase.id == case_id).with_for_update()).one_or_none()
    if case is None or (member is not None and member not in (case.from_institution, case.to_institution)):
        raise WorkflowError("workflow.referral.not_found", "no such referral in the caller's cases")
    return case


def party_of(case: ReferralCase, member: str) -> Party:
    return Party.SENDER if member == case.from_institution else Party.RECEIVER


def _history(session: Session, case: ReferralCase, *, action: str, actor: str, at: datetime, before: str | None,
             code: str | None = None, note: str | None = None) -> None:
    session.add(ReferralEvent(case_id=case.id, at=at, actor=actor, action=action, from_state=before,
                              to_state=case.state, code=code, note=(note or None) and note[:MAX_NOTE]))
    audit.record(session, f"referral.{action}", member=actor, detail=f"workflow_referral:{case.id} {case.state}")


def open_case(session: Session, *, document_row_id: int, sender: str, receiver: str, department: str | None,
              now: datetime, previous: ReferralCase | None = None, actor: str = HUB_ACTOR) -> ReferralCase:
    """A new case in ``requested``, the receiver told (with the record summary it may see)."""
    case = ReferralCase(document_row_id=document_row_id, previous_id=previous.id if previous else None,
                        from_institution=sender, to_institution=receiver, department_code=department,
                        state=ReferralState.REQUESTED.value, requested_at=now, updated_at=now,
                        due_at=overdue.due(ReferralState.REQUESTED, now, deadlines=overdue.deadlines_of(session)))
    session.add(case)
    session.flush()
    _history(session, case, action="open", actor=actor, at=now, before=None)
    notices.tell(session, case, to=receiver, now=now, summary=True)
    return case


def _check_reason(reason: str | None) -> str:
    if reason not in REASONS:
        raise WorkflowError("workflow.referral.invalid", "a reason code of the list", field="reason")
    return reason


def is_hospital(session: Session, code: str | None) -> bool:
    """Whether ``code`` is a registered, active institution of a hospital kind (what a referral goes up to)."""
    found = session.get(Institution, code) if code else None
    return found is not None and found.kind in HOSPITAL_KINDS and found.status == "active"


def passed_through(session: Session, case: ReferralCase) -> set[str]:
    """The hospitals the case's referral document was at (every case of the document, this one included)."""
    return set(session.scalars(select(ReferralCase.to_institution)
                               .where(ReferralCase.document_row_id == case.document_row_id)))


def _check_hospital(session: Session, case: ReferralCase, code: str | None) -> str:
    # never back to a hospital the referral passed through: no redirect loop re-sending the patient's summary
    if not is_hospital(session, code) or code == case.from_institution or code in passed_through(session, case):
        raise WorkflowError("workflow.referral.invalid", "another registered, active hospital it was not at",
                            field="to")
    return code


def _audit_refusal(session: Session, *, actor: str, code: str, detail: str) -> None:
    # ``audit.event`` names failures by a fixed list of event types; a referral refusal is one, with its code
    row = audit.event(REFUSED, member=actor, code=code, detail=detail[:200])
    audit.record_many(session, [{**row, "outcome": audit.FAILURE}])


def audit_document_refusal(session: Session, *, actor: str, code: str, document_row_id: int) -> None:
    """Audit a referral document whose request opened no case (outcome failure, its code)."""
    _audit_refusal(session, actor=actor, code=code, detail=f"record_document:{document_row_id} open")


def record_refusal(sessions, *, refused: WorkflowError, actor: str, case_id: int | None, action: str) -> None:
    """Audit a member's refused move in its own transaction (the move's own was rolled back)."""
    with transaction(sessions) as session:
        _audit_refusal(session, actor=actor, code=refused.code, detail=f"workflow_referral:{case_id} {action}")


def act(session: Session, *, case_id: int, action: Action | str, actor: str, now: datetime,
        appointment: datetime | None = None, reason: str | None = None, to: str | None = None,
        note: str | None = None) -> ReferralCase:
    """A member's move on one of its cases (accept, reject, redirect, cancel, arrive, close, follow_up)."""
    action = Action(action)
    if action in DOCUMENT_ACTIONS:  # a down-referral, or a new version of the up-referral: never a call
        raise WorkflowError("workflow.referral.invalid", f"a {action.value} is a referral document's",
                            field="action")
    case = get_or_raise(session, case_id=case_id, member=actor)
    move = check_move(case.state, action, party_of(case, actor))
    code = None
    if action == Action.ACCEPT:
        if appointment is None:
            raise WorkflowError("workflow.referral.invalid", "an acceptance gives an appointment time",
                                field="appointment")
        if appointment < now - CLOCK_SKEW:
            raise WorkflowError("workflow.referral.invalid", "an appointment that has not passed",
                                field="appointment")
        case.appointment_at = appointment
    elif action in (Action.REJECT, Action.REDIRECT):
        code = case.reason_code = _check_reason(reason)
    if action == Action.REDIRECT:
        to = _check_hospital(session, case, to)
    return _apply(session, case, action=action, to_state=move.to, actor=actor, now=now, code=code, note=note,
                  redirect_to=to if action == Action.REDIRECT else None)


def _apply(session: Session, case: ReferralCase, *, action: Action, to_state: ReferralState, actor: str,
           now: datetime, code: str | None = None, note: str | None = None, redirect_to: str | None = None,
           down_document_row_id: int | None = None, department: str | None = None) -> ReferralCase:
    before = case.state
    case.state, case.updated_at = to_state.value, now
    if action in (Action.ACCEPT, Action.REJECT, Action.REDIRECT):
        case.decided_at = now
    if action == Action.ARRIVE:
        case.arrived_at = now
    if action == Action.DISCHARGE:
        case.discharged_at, case.down_document_row_id = now, down_document_row_id
    if to_state in (ReferralState.REJECTED, ReferralState.REDIRECTED, ReferralState.CANCELLED,
                    ReferralState.CLOSED, ReferralState.FOLLOWED_UP):
        case.ended_at = now
    stays = to_state.value == before  # a withdrawal after arrival: the step, its deadline and its alert go on
    if not stays:
        case.due_at = overdue.due(to_state, now, deadlines=overdue.deadlines_of(session))
    session.flush()
    _history(session, case, action=action.value, actor=actor, at=now, before=before, code=code, note=note)
    if not stays:
        overdue.settle(session, case, state=before, now=now)
    mover = TRANSITIONS[(ReferralState(before), action)].party
    other = case.from_institution if mover == Party.RECEIVER else case.to_institution
    withdrawn = action == Action.CORRECT or (action == Action.CANCEL and stays)
    notices.tell(session, case, to=other, now=now, redirect_to=None if withdrawn else redirect_to,
                 down_document_row_id=down_document_row_id, kind="referral.withdrawn" if withdrawn else None)
    if redirect_to is not None:
        open_case(session, document_row_id=case.document_row_id, sender=case.from_institution, receiver=redirect_to,
                  department=department or case.department_code, now=now, previous=case, actor=actor)
    return case


def live_case(session: Session, *, document_row_id: int) -> ReferralCase | None:
    """The case of an up-referral document that is not redirected (at most one)."""
    return session.scalars(select(ReferralCase).where(ReferralCase.document_row_id == document_row_id,
                                                      ReferralCase.state != ReferralState.REDIRECTED.value)
                           .with_for_update()).one_or_none()


def _refused_event(session: Session, case: ReferralCase, *, action: Action, refused: WorkflowError,
                   now: datetime) -> None:
    """A move a document asked that was refused: in the case's history (state unchanged) and the audit."""
    actor = case.from_institution
    session.add(ReferralEvent(case_id=case.id, at=now, actor=actor, action=action.value, from_state=case.state,
                              to_state=case.state, code=refused.code))
    _audit_refusal(session, actor=actor, code=refused.code, detail=f"workflow_referral:{case.id} {action.value}")


def cancel_by_document(session: Session, *, case: ReferralCase, now: datetime) -> bool:
    """The sender cancelled its up-referral document: the table's move (cancelled before the patient came; after
    it the case goes on and the hospital is told); in a final state the case stays, the cancellation is in its
    history, and a hospital that had accepted it is told."""
    try:
        move = check_move(case.state, Action.CANCEL)
    except WorkflowError as refused:
        if case.state == ReferralState.CANCELLED.value:
            return False  # cancelled already (CancelReferral): nothing more to say
        _refused_event(session, case, action=Action.CANCEL, refused=refused, now=now)
        if ReferralState(case.state) in ACCEPTED_STATES:
            notices.tell(session, case, to=case.to_institution, now=now, kind="referral.withdrawn")
        return False
    _apply(session, case, action=Action.CANCEL, to_state=move.to, actor=case.from_institution, now=now)
    return True


def correct_by_document(session: Session, *, case: ReferralCase, to: str, department: str | None,
                        now: datetime) -> bool:
    """A new version of the up-referral names hospital ``to``: while ``requested`` the case moves there (the
    first hospital told it is withdrawn, the new one asked); after that, or to no hospital, it is refused."""
    try:
        move = check_move(case.state, Action.CORRECT)
        _check_hospital(session, case, to)
    except WorkflowError as refused:  # the sender is told: its document asked what the hub did not do
        _refused_event(session, case, action=Action.CORRECT, refused=refused, now=now)
        field = "toInstitution" if refused.fields.get("field") else None  # the document's, not the call's
        notices.tell_refused(session, document_row_id=case.document_row_id, sender=case.from_institution,
                             receiver=to, code=refused.code, field=field, case=case, now=now)
        return False
    _apply(session, case, action=Action.CORRECT, to_state=move.to, actor=case.from_institution, now=now,
           redirect_to=to, department=department)
    return True


def discharge(session: Session, *, sender: str, receiver: str, person_id: int | None, down_document_row_id: int,
              now: datetime) -> ReferralCase | None:
    """A down-referral from ``sender`` (the hospital) to ``receiver`` (the clinic) about ``person_id``: it
    discharges the oldest open case of that person between the two (None: no case, nothing to move)."""
    if person_id is None:
        return None
    waiting = (ReferralState.ACCEPTED.value, ReferralState.ARRIVED.value)
    case = session.scalars(
        select(ReferralCase).join(RecordDocument, RecordDocument.id == ReferralCase.document_row_id)
        .where(ReferralCase.to_institution == sender, ReferralCase.from_institution == receiver,
               ReferralCase.state.in_(waiting), RecordDocument.person_id == person_id)
        .order_by(ReferralCase.requested_at, ReferralCase.id).limit(1).with_for_update()).one_or_none()
    if case is None:
        return None
    return _apply(session, case, action=Action.DISCHARGE, to_state=ReferralState.DISCHARGED, actor=sender, now=now,
                  down_document_row_id=down_document_row_id)


def history(session: Session, case_id: int) -> list[ReferralEvent]:
    return list(session.scalars(select(ReferralEvent).where(ReferralEvent.case_id == case_id)
                                .order_by(ReferralEvent.id)))


def turnaround(case: ReferralCase) -> timedelta | None:
    """Request → decision of this receiver."""
    return None if case.decided_at is None else case.decided_at - case.requested_at


__all__ = ["REASONS", "HOSPITAL_KINDS", "CLOCK_SKEW", "REFUSED", "get_or_raise", "party_of", "is_hospital",
           "passed_through", "audit_document_refusal", "record_refusal", "open_case", "act", "live_case",
           "cancel_by_document", "correct_by_document", "discharge", "history", "turnaround"]
