"""A referral case as the APIs show it to a party, the worklist query, and the moves' arguments.

The SOAP operations (``hub.workflows.soap``) and the JSON API (``hub.web.referrals``) both call
``perform``: one path from a member's request to ``service.act``.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ...records.models import RecordDocument
from ...store.db import transaction
from .. import errors
from . import service
from .models import ReferralCase, ReferralState
from .states import Action, turn_of

MAX_TEXT = 2000
T = TypeVar("T")
# operation name → action (the SOAP service's operations and the JSON API's /api/referrals/{id}/<path>)
OPERATIONS: dict[str, Action] = {
    "AcceptReferral": Action.ACCEPT, "RejectReferral": Action.REJECT, "RedirectReferral": Action.REDIRECT,
    "CancelReferral": Action.CANCEL, "ConfirmArrival": Action.ARRIVE, "CloseReferral": Action.CLOSE,
    "ConfirmFollowUp": Action.FOLLOW_UP,
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def as_dict(session: Session, case: ReferralCase, events=None) -> dict:
    """The case for one of its parties (codes, times and the referral document's id; no patient value)."""
    document_id = session.scalar(select(RecordDocument.document_id).where(RecordDocument.id == case.document_row_id))
    turn = turn_of(case.state)
    found = {"id": case.id, "document_id": document_id, "previous_id": case.previous_id,
             "from": case.from_institution, "to": case.to_institution, "department": case.department_code,
             "state": case.state, "turn": turn.value if turn else None, "reason": case.reason_code,
             "requested_at": _iso(case.requested_at), "decided_at": _iso(case.decided_at),
             "appointment_at": _iso(case.appointment_at), "arrived_at": _iso(case.arrived_at),
             "discharged_at": _iso(case.discharged_at), "ended_at": _iso(case.ended_at),
             "due_at": _iso(case.due_at), "updated_at": _iso(case.updated_at)}
    if events is not None:
        found["history"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_state,
                             "to": e.to_state, "code": e.code, "note": e.note} for e in events]
    return found


def worklist(session: Session, *, member: str | None, state: str | None = None, limit: int = 200,
             institutions: Collection[str] | None = None, side: str | None = None) -> list:
    """Cases where ``member`` is a party (every case for None: the bureau), newest first; with
    ``institutions``, only cases one of them sent or received (``side`` ``sent`` or ``received``: that side
    only). Every filter is in the query, so the newest ``limit`` cases are the newest of the scope."""
    query = select(ReferralCase).order_by(ReferralCase.updated_at.desc(), ReferralCase.id.desc()).limit(limit)
    if member is not None:
        query = query.where(or_(ReferralCase.from_institution == member, ReferralCase.to_institution == member))
    if institutions is not None:
        codes = sorted(institutions)
        sent, received = ReferralCase.from_institution.in_(codes), ReferralCase.to_institution.in_(codes)
        query = query.where(sent if side == "sent" else received if side == "received" else or_(sent, received))
    if state:
        query = query.where(ReferralCase.state == ReferralState(state).value)
    return list(session.scalars(query))


def parse_time(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 date-time with its offset (``workflow.referral.invalid`` otherwise)."""
    if text is None or not str(text).strip():
        return None
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise errors.WorkflowError("workflow.referral.invalid", "a date-time with its offset", field=field)
    return moment.astimezone(timezone.utc)


def perform(session: Session, *, operation: str, case_id: int, member: str, now: datetime,
            arguments: dict[str, str | None]) -> ReferralCase:
    """A member's move (``operation`` of ``OPERATIONS``) with its arguments (Appointment, Reason, To, Note)."""
    note = arguments.get("Note")
    return service.act(session, case_id=case_id, action=OPERATIONS[operation], actor=member, now=now,
                       appointment=parse_time(arguments.get("Appointment"), "appointment"),
                       reason=arguments.get("Reason"), to=arguments.get("To"),
                       note=note[:MAX_TEXT] if note else None)


def perform_audited(sessions, *, operation: str, case_id: int, member: str, now: datetime,
                    arguments: dict[str, str | None], answer: Callable[[Session, ReferralCase], T]) -> T:
    """``perform`` in its own transaction, answered by ``answer``; a refused move (a stranger's included) is
    audited in a transaction of its own (``referral.refuse``, outcome failure, its code) and raised again."""
    try:
        with transaction(sessions) as session:
            return answer(session, perform(session, operation=operation, case_id=case_id, member=member, now=now,
                                           arguments=arguments))
    except errors.WorkflowError as refused:
        service.record_refusal(sessions, refused=refused, actor=member, case_id=case_id,
                               action=OPERATIONS[operation].value)
        raise


__all__ = ["OPERATIONS", "as_dict", "worklist", "parse_time", "perform", "perform_audited"]
