"""The alerts page (告警): the workflows' alerts within the viewer's scope, an alert's facts and history,
and its acknowledge and close buttons.

Every read and move calls ``hub.workflows.alerts`` (``list_alerts``, ``history``, ``acknowledge``,
``close``) with ``AlertScope`` built from the user's cube scope exactly as ``/api/alerts`` builds it for
a member (``hub.web.alerts``): a district analyst sees its districts' alerts, an institution's user those
of its institution. Who may act (``may_act``): analysts read only — they watch indicators, and an incident
is acknowledged by whoever answers for handling it; operators and institution administrators move what
their scope may move (``AlertScope.may_move``, the rule ``/api/alerts`` applies to a member): a bureau's
operator every alert it sees, an institution's user the alerts its institution owns (its turn, e.g. an
overdue referral answer), never one it is only the subject of (``workflow.alert.denied``).
A move is audited and in the alert's history with the actor ``console:<username>``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ...registry.models import Institution, Region
from ...store.db import transaction
from ...workflows import alerts
from ...workflows.kinds import ALERT_KINDS, Severity, kind_of
from ...workflows.models import Alert, AlertState
from ..bodies import read_json
from ..errors import MAX_ROW_ID, HubErrorRoute, RowId
from .auth import ApiViewer, Viewer, csrf_ok
from .i18n import code_message
from .pages import page_viewer, render, require
from .users import Role, scope_of

PAGE = "alerts"
CHINA = timezone(timedelta(hours=8))
MAX_BODY = 16 * 1024
SHOWN = 200  # alerts on one page, newest first
# what a move from the page can answer: shown with the machine code in the viewer's language
MOVE_CODES = ("workflow.alert.transition", "workflow.alert.not_found", "access.denied", "request.invalid",
              "request.not_json", "transport.too_large", "workflow.alert.denied")

page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/alerts", route_class=HubErrorRoute, include_in_schema=False)


def alert_scope(session: Session, viewer: Viewer) -> alerts.AlertScope:
    """The alerts ``viewer`` sees: its cube scope as ``/api/alerts`` scopes a member."""
    scope = scope_of(session, viewer.user)
    return alerts.AlertScope(districts=scope.districts, institutions=scope.institutions)


def may_act(viewer: Viewer, alert: Alert, scope: alerts.AlertScope) -> bool:
    """Whether ``viewer`` may acknowledge or close ``alert``: not an analyst, and ``scope`` may move it."""
    return viewer.user.role is not Role.ANALYST and scope.may_move(alert)


def actor_of(viewer: Viewer) -> str:
    return f"console:{viewer.user.username}"


def shown_time(moment: datetime | None) -> str:
    """A time for the page: China time, to the minute."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


def row_id(text: str) -> int:
    """A page's ``id=`` parameter as a row id; 0 (no row) for anything else, a too large number included."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_ROW_ID else 0


def _names(session: Session, rows: list[Alert]) -> dict[str, str]:
    districts = {a.district for a in rows if a.district}
    institutions = {code for a in rows for code in (a.institution, a.owner) if code}
    names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(sorted(districts)))).all())
    names |= dict(session.execute(select(Institution.code, Institution.name)
                                  .where(Institution.code.in_(sorted(institutions)))).all())
    return names


def _filters(state: str | None, kind: str | None, severity: str | None) -> dict:
    """The list's filters; an unknown value is ``request.invalid`` (nothing is read for it)."""
    if state and state not in {s.value for s in AlertState}:
        raise HubError("request.invalid", "state: open, acknowledged or closed", field="/state")
    if kind and kind not in ALERT_KINDS:
        raise HubError("request.invalid", "kind: a registered alert kind", field="/kind")
    if severity and severity not in {s.value for s in Severity}:
        raise HubError("request.invalid", "severity: critical, warning or notice", field="/severity")
    return {"state": state or None, "kind": kind or None, "severity": severity or None}


def shown(alert: Alert, names: dict[str, str], viewer: Viewer, events=None, *,
          scope: alerts.AlertScope = alerts.AlertScope(frozenset(), frozenset())) -> dict:
    """An alert as the page and its JSON show it: ``alerts.as_dict`` with names, the kind's title in the
    viewer's language, times in China time and whether the viewer may move it."""
    found = alerts.as_dict(alert, events)
    kind = kind_of(alert.kind)
    found.update(
        title_shown=kind.title_zh if viewer.lang == "zh" else kind.title,
        district_name=names.get(alert.district or "", ""), institution_name=names.get(alert.institution or "", ""),
        owner_name=names.get(alert.owner, ""), opened=shown_time(alert.opened_at), updated=shown_time(alert.updated_at),
        may_act=may_act(viewer, alert, scope))
    for event, row in zip(events or (), found.get("history", ())):
        row["at_shown"] = shown_time(event.at)
    return found


def listed(session: Session, viewer: Viewer, *, state=None, kind=None, severity=None) -> list[dict]:
    """The viewer's alerts, newest first, filtered (severity: the kinds of that severity)."""
    scope = alert_scope(session, viewer)
    rows = alerts.list_alerts(session, scope=scope, state=state, kind=kind,
                              limit=SHOWN if severity is None else 5 * SHOWN)
    if severity is not None:
        rows = [a for a in rows if kind_of(a.kind).severity.value == severity][:SHOWN]
    names = _names(session, rows)
    return [shown(alert, names, viewer, scope=scope) for alert in rows]


def one(session: Session, viewer: Viewer, alert_id: int) -> dict:
    """One alert the viewer sees, with its history; ``workflow.alert.not_found`` otherwise."""
    alert, scope = session.get(Alert, alert_id), alert_scope(session, viewer)
    if alert is None or not scope.sees(alert):
        raise HubError("workflow.alert.not_found", "no such alert in the viewer's scope")
    return shown(alert, _names(session, [alert]), viewer, alerts.history(session, alert_id), scope=scope)



@page.get("/alerts")
def alerts_page(request: Request) -> Response:
    viewer = page_viewer(request, PAGE)
    if not isinstance(viewer, Viewer):
        return viewer
    params = request.query_params
    error, selected, status = None, None, 200
    try:
        filters = _filters(params.get("state"), params.get("kind"), params.get("severity"))
    except HubError as refused:
        filters, error, status = _filters(None, None, None), refused.code, refused.spec.http_status
    with request.app.state.hub.sessions() as session:
        rows = listed(session, viewer, **filters)
        if params.get("id"):
            try:
                selected = one(session, viewer, row_id(params["id"]))
            except HubError as refused:
                error, status = refused.code, refused.spec.http_status
    return render(request, "alerts.html", viewer=viewer, current=PAGE, rows=rows, selected=selected,
                  filters=filters, error=error, error_message=code_message(error, viewer.lang) if error else "",
                  status_code=status, states=[s.value for s in AlertState], kinds={code: k.title_zh if viewer.lang == "zh" else k.title for code, k in ALERT_KINDS.items()},
                  severities=[s.value for s in Severity],
                  errors={code: code_message(code, viewer.lang) for code in MOVE_CODES})


@api.get("")
async def list_alerts(request: Request, viewer: ApiViewer, state: Annotated[str | None, Query(max_length=32)] = None,
                      kind: Annotated[str | None, Query(max_length=64)] = None,
                      severity: Annotated[str | None, Query(max_length=16)] = None) -> list[dict]:
    """The viewer's alerts as the page lists them."""
    require(viewer, PAGE)
    filters = _filters(state, kind, severity)

    def read():
        with request.app.state.hub.sessions() as session:
            return listed(session, viewer, **filters)
    return await run_in_threadpool(read)


@api.get("/{alert_id}")
async def get_alert(request: Request, viewer: ApiViewer, alert_id: RowId) -> dict:
    """One alert with its history, within the viewer's scope."""
    require(viewer, PAGE)

    def read():
        with request.app.state.hub.sessions() as session:
            return one(session, viewer, alert_id)
    return await run_in_threadpool(read)


async def _move(request: Request, viewer: Viewer, alert_id: int, to: AlertState) -> dict:
    require(viewer, PAGE)
    if not csrf_ok(request, {}, viewer.csrf_token):
        raise HubError("access.denied", "no valid CSRF token")
    body = await read_json(request, limit=MAX_BODY)
    note = body.get("note") if isinstance(body, dict) else None
    if note is not None and not isinstance(note, str):
        raise HubError("request.invalid", "note is text", field="/note")

    def write():
        with transaction(request.app.state.hub.sessions) as session:
            scope = alert_scope(session, viewer)
            found = session.get(Alert, alert_id)
            if found is not None and scope.sees(found) and viewer.user.role is Role.ANALYST:
                raise HubError("access.denied", "the viewer may not move this alert")
            alerts.move(session, alert_id=alert_id, to=to, actor=actor_of(viewer), now=utcnow(),
                        note=(note or "").strip() or None, scope=scope)
            return one(session, viewer, alert_id)
    try:
        return await run_in_threadpool(write)
    except HubError as refused:
        if refused.code not in alerts.AUDITED_REFUSALS:
            raise
        await run_in_threadpool(alerts.audit_refusal, request.app.state.hub.sessions, code=refused.code,
                                actor=actor_of(viewer), alert_id=alert_id,
                                client_address=request.client.host if request.client else None)
        raise


@api.post("/{alert_id}/acknowledge")
async def acknowledge(request: Request, viewer: ApiViewer, alert_id: RowId) -> dict:
    """Acknowledge an open alert (body ``{"note": "…"}``, optional; header ``X-CSRF-Token``)."""
    return await _move(request, viewer, alert_id, AlertState.ACKNOWLEDGED)


@api.post("/{alert_id}/close")
async def close(request: Request, viewer: ApiViewer, alert_id: RowId) -> dict:
    """Close an open or acknowledged alert (body ``{"note": "…"}``, optional; header ``X-CSRF-Token``)."""
    return await _move(request, viewer, alert_id, AlertState.CLOSED)


__all__ = ["page", "api", "alert_scope", "may_act", "actor_of", "shown_time", "row_id", "shown", "listed", "one"]
