"""JSON endpoints of the two-way referral workflow (``/api/referrals``): the worklist and the moves.

A member sees and moves the cases it is a party of (the same moves as the SOAP operations, through
``hub.workflows.referral.views.perform``); a bureau sees the cases of the institutions in the districts
it governs (a city bureau every case) and moves none; the scope is in the list's query. Errors are the
workflow's codes (``workflow.referral.*``); every refused move is audited (``referral.refuse``).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ..registry.access import role_of
from ..registry.models import Institution
from ..workflows.referral import service, views
from ..workflows.referral.models import ReferralCase, ReferralState
from .bodies import read_json
from .deps import Member
from .errors import HubErrorRoute, RowId
from .scope import scope_for

router = APIRouter(prefix="/api/referrals", tags=["workflows"], route_class=HubErrorRoute)
MAX_BODY = 16 * 1024
# path → the operation (views.OPERATIONS): POST /api/referrals/{id}/<path>
MOVES = {"accept": "AcceptReferral", "reject": "RejectReferral", "redirect": "RedirectReferral",
         "cancel": "CancelReferral", "arrive": "ConfirmArrival", "close": "CloseReferral",
         "follow-up": "ConfirmFollowUp"}
_FIELDS = {"appointment": "Appointment", "reason": "Reason", "to": "To", "note": "Note"}


def _bureau_institutions(session, member: str) -> frozenset[str] | None:
    """The institutions a bureau sees the cases of (None: every one); not a bureau: an empty set."""
    if role_of(session, member) != "bureau":
        return frozenset()
    districts = scope_for(session, member).districts
    if districts is None:
        return None
    return frozenset(session.scalars(select(Institution.code).where(Institution.division_code.in_(sorted(districts)))))


def _sees(session, member: str, case: ReferralCase) -> bool:
    if member in (case.from_institution, case.to_institution):
        return True
    seen = _bureau_institutions(session, member)
    return seen is None or bool(seen & {case.from_institution, case.to_institution})


@router.get("")
def list_referrals(request: Request, member: Member, state: ReferralState | None = None):
    """The caller's cases (a bureau: those of its districts' institutions), newest first."""
    with request.app.state.hub.sessions() as session:
        seen = _bureau_institutions(session, member)
        # a bureau: its districts' institutions (None: the city's, every case); any other member: its own
        cases = views.worklist(session, member=None if seen is None or seen else member,
                               institutions=seen or None, state=state.value if state else None)
        return [views.as_dict(session, case) for case in cases]


@router.get("/{case_id}")
def get_referral(request: Request, member: Member, case_id: RowId):
    """One case with its history (a party's, or a bureau's in scope)."""
    with request.app.state.hub.sessions() as session:
        case = session.get(ReferralCase, case_id)
        if case is None or not _sees(session, member, case):
            raise HubError("workflow.referral.not_found")
        return views.as_dict(session, case, service.history(session, case_id))


async def _arguments(request: Request) -> dict[str, str | None]:
    body = await read_json(request, limit=MAX_BODY)
    if not isinstance(body, dict):
        raise HubError("request.invalid", "a JSON object", field="/")
    found = {}
    for name, argument in _FIELDS.items():
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise HubError("request.invalid", f"{name} is text", field=f"/{name}")
        found[argument] = value.strip() if value and value.strip() else None
    return found


@router.post("/{case_id}/{move}")
async def move_referral(request: Request, member: Member, case_id: RowId, move: str):
    """A party's move: accept (appointment), reject (reason), redirect (to, reason), cancel, arrive, close,
    follow-up; each may carry a note."""
    if move not in MOVES:
        raise HubError("workflow.referral.invalid", "no such move", field="move")
    arguments = await _arguments(request)
    return views.perform_audited(request.app.state.hub.sessions, operation=MOVES[move], case_id=case_id,
                                 member=member, now=utcnow(), arguments=arguments,
                                 answer=lambda session, case: views.as_dict(session, case,
                                                                            service.history(session, case_id)))


__all__ = ["router", "MOVES"]
