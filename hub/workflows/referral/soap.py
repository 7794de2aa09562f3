"""The referral operations of the workflow service (``hub.workflows.soap``): a member moves its own cases.

The member is the one the gate verified, never an argument; arguments are read from the gate's
``VerifiedRequest`` (``verified.content``) like the other operations, spyne's declarations give the
WSDL. Only a party of the case sees it (``workflow.referral.not_found`` otherwise) and only the party
whose turn it is may make a move (``workflow.referral.turn``).
"""
from __future__ import annotations

from spyne import ComplexModel, Integer, Unicode

from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc, utcnow

from ...exchange.operation import operation_context
from ..errors import WorkflowError
from . import views
from .models import ReferralCase

ARGUMENTS = ("Referral", "Appointment", "Reason", "To", "Note")
OPERATIONS = frozenset(views.OPERATIONS) | {"ListReferrals"}


class ReferralInfo(ComplexModel):
    """A referral case as its parties see it over SOAP."""

    __namespace__ = WORKFLOW
    _type_info = [("Id", Integer(min_occurs=1)), ("Document", Unicode), ("From", Unicode(min_occurs=1)),
                  ("To", Unicode(min_occurs=1)), ("Department", Unicode), ("State", Unicode(min_occurs=1)),
                  ("Reason", Unicode), ("Appointment", Unicode), ("RequestedAt", Unicode), ("DecidedAt", Unicode),
                  ("DueAt", Unicode)]


def _time(moment) -> str | None:
    return format_utc(moment) if moment else None


def info(session, case: ReferralCase) -> ReferralInfo:
    shown = views.as_dict(session, case)
    return ReferralInfo(Id=case.id, Document=shown["document_id"], From=case.from_institution,
                        To=case.to_institution, Department=case.department_code, State=case.state,
                        Reason=case.reason_code, Appointment=_time(case.appointment_at),
                        RequestedAt=_time(case.requested_at), DecidedAt=_time(case.decided_at),
                        DueAt=_time(case.due_at))


def _arguments(verified) -> dict[str, str | None]:
    found = {}
    for name in ARGUMENTS:
        text = verified.content.findtext(q(WORKFLOW, name))
        found[name] = text.strip() if text and text.strip() else None
    return found


def move(ctx, operation: str) -> ReferralInfo:
    """Run ``operation`` for the verified member on the case its ``Referral`` argument names."""
    hub, verified, _client = operation_context(ctx)
    arguments = _arguments(verified)
    try:
        case_id = int(arguments["Referral"] or "")
    except ValueError:
        raise WorkflowError("workflow.referral.invalid", "a referral id", field="Referral") from None
    return views.perform_audited(hub.sessions, operation=operation, case_id=case_id, member=verified.member,
                                 now=utcnow(), arguments=arguments, answer=info)


def list_cases(ctx) -> list[ReferralInfo]:
    hub, verified, _client = operation_context(ctx)
    state = verified.content.findtext(q(WORKFLOW, "State"))
    try:
        with hub.sessions() as session:
            return [info(session, case) for case in views.worklist(session, member=verified.member,
                                                                   state=(state or "").strip() or None)]
    except ValueError:
        raise WorkflowError("workflow.referral.invalid", "a referral state", field="State") from None


__all__ = ["ARGUMENTS", "OPERATIONS", "ReferralInfo", "info", "move", "list_cases"]
