"""The referral worklist (转诊工作台): the two-way referral cases within the viewer's scope, the steps
past their deadline, and a case's timeline. ``/console/referrals`` (the cube dashboard) counts them.

An institution's user sees the cases its institution sent or received (``views.worklist`` for that
member, as ``/api/referrals`` answers the member); a bureau user the cases of the institutions of its
districts (``monitor.members_in`` of its cube scope, as the exchange monitor scopes members). A case is
shown as ``views.as_dict`` shows it to a party — its own ids, institutions, codes and times, never the
patient — less the free-text notes of its history (a note is typed by a person and may name the patient).
A step is overdue when its ``due_at`` (set from ``referral.overdue.DEADLINES``, the deadlines the
``referral.overdue`` alerts use) has passed. Read only: the institutions move their cases from their own
systems over the signed SOAP operations (the hospital's appointment comes from its own scheduling).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from protocol.errors import HubError

from ...monitor import members_in
from ...registry.models import Institution
from ...workflows.referral import overdue as deadlines
from ...workflows.referral import service, views
from ...workflows.referral.models import ReferralCase, ReferralState
from ..errors import HubErrorRoute, RowId
from .alerts_page import row_id, shown_time
from .auth import ApiViewer, Viewer
from .i18n import code_message
from .pages import allowed, page_viewer, render, require
from .users import scope_of

PAGE = "referral_worklist"
DIRECTIONS = ("sent", "received")
SHOWN = 200
TIMES = ("requested_at", "decided_at", "appointment_at", "arrived_at", "discharged_at", "ended_at", "due_at",
         "updated_at")

page = APIRouter(prefix="/console", include_in_schema=False)
# not /console/api/referrals/…: that is the referral dashboard's charts
api = APIRouter(prefix="/console/api/referral-worklist", route_class=HubErrorRoute, include_in_schema=False)


def institutions_of(session: Session, viewer: Viewer) -> frozenset[str] | None:
    """The institutions whose cases ``viewer`` sees (None: every one)."""
    scope = scope_of(session, viewer.user)
    return members_in(session, districts=scope.districts, institutions=scope.institutions)


def sees(case: ReferralCase, institutions: frozenset[str] | None) -> bool:
    return institutions is None or bool(institutions & {case.from_institution, case.to_institution})


def overdue(case: ReferralCase, now: datetime) -> bool:
    """The case's current step is past its deadline: ``referral.overdue.check``'s own condition."""
    return case.due_at is not None and case.due_at <= now and case.state in {s.value for s in deadlines.DEADLINES}


def _filters(state: str | None, direction: str | None) -> dict:
    if state and state not in {s.value for s in ReferralState}:
        raise HubError("request.invalid", "state: a referral state", field="/state")
    if direction and direction not in DIRECTIONS:
        raise HubError("request.invalid", "direction: sent or received", field="/direction")
    return {"state": state or None, "direction": direction or None}


def _names(session: Session, cases: list[ReferralCase]) -> dict[str, str]:
    codes = sorted({code for c in cases for code in (c.from_institution, c.to_institution)})
    return dict(session.execute(select(Institution.code, Institution.name).where(Institution.code.in_(codes))).all())


def shown(session: Session, case: ReferralCase, names: dict[str, str], now: datetime, *, events=None) -> dict:
    """A case as the page and its JSON show it: ``views.as_dict`` with names, China times and ``overdue``."""
    found = views.as_dict(session, case, events)
    found.update(from_name=names.get(case.from_institution, ""), to_name=names.get(case.to_institution, ""),
                 overdue=overdue(case, now), reason_text=service.REASONS.get(case.reason_code or "", ""),
                 shown={name: shown_time(getattr(case, name)) for name in TIMES})
    for event, row in zip(events or (), found.get("history", ())):
        row.pop("note")  # free text typed by a person: it may name the patient
        row["at_shown"] = shown_time(event.at)
        row["reason_text"] = service.REASONS.get(event.code or "", "")
    return found


def listed(session: Session, viewer: Viewer, *, state=None, direction=None, now: datetime) -> list[dict]:
    """The viewer's cases, newest first, filtered by state and by direction (sent or received by its institutions)."""
    institutions = institutions_of(session, viewer)
    own = viewer.user.institution_code
    cases = views.worklist(session, member=own, state=state, limit=SHOWN, institutions=institutions,
                           side=direction if institutions is not None else None)  # the scope in the query
    names = _names(session, cases)
    return [shown(session, case, names, now) for case in cases]


def one(session: Session, viewer: Viewer, case_id: int, now: datetime) -> dict:
    """One case the viewer sees, with its timeline; ``workflow.referral.not_found`` otherwise."""
    case = session.get(ReferralCase, case_id)
    if case is None or not sees(case, institutions_of(session, viewer)):
        raise HubError("workflow.referral.not_found", "no such referral in the viewer's scope")
    return shown(session, case, _names(session, [case]), now, events=service.history(session, case_id))



@page.get("/referrals/worklist")
def worklist_page(request: Request) -> Response:
    viewer = page_viewer(request, PAGE)
    if not isinstance(viewer, Viewer):
        return viewer
    params, now = request.query_params, datetime.now(timezone.utc)
    error, selected, status = None, None, 200
    try:
        filters = _filters(params.get("state"), params.get("direction"))
    except HubError as refused:
        filters, error, status = _filters(None, None), refused.code, refused.spec.http_status
    with request.app.state.hub.sessions() as session:
        rows = listed(session, viewer, now=now, **filters)
        if params.get("id"):
            try:
                selected = one(session, viewer, row_id(params["id"]), now)
            except HubError as refused:
                error, status = refused.code, refused.spec.http_status
    return render(request, "referral_worklist.html", viewer=viewer, current=PAGE, rows=rows, selected=selected,
                  filters=filters, error=error, error_message=code_message(error, viewer.lang) if error else "",
                  status_code=status, states=[s.value for s in ReferralState], directions=DIRECTIONS,
                  dashboard=allowed(viewer, "referrals"))


@api.get("")
async def list_cases(request: Request, viewer: ApiViewer, state: Annotated[str | None, Query(max_length=32)] = None,
                     direction: Annotated[str | None, Query(max_length=16)] = None) -> list[dict]:
    """The viewer's cases as the page lists them."""
    require(viewer, PAGE)
    filters = _filters(state, direction)

    def read():
        with request.app.state.hub.sessions() as session:
            return listed(session, viewer, now=datetime.now(timezone.utc), **filters)
    return await run_in_threadpool(read)


@api.get("/{case_id}")
async def get_case(request: Request, viewer: ApiViewer, case_id: RowId) -> dict:
    """One case with its timeline, within the viewer's scope."""
    require(viewer, PAGE)

    def read():
        with request.app.state.hub.sessions() as session:
            return one(session, viewer, case_id, datetime.now(timezone.utc))
    return await run_in_threadpool(read)


__all__ = ["page", "api", "institutions_of", "sees", "overdue", "listed", "one", "shown"]
