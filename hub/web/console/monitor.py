"""The exchange monitor page: traffic per member per hour or day, rejections by code with the fault
table's meaning, silent members, the backlog and its age, ETL runs and reconcile results, and a
message's journey by MessageID — ids, digests, times, statuses and codes, never a payload.

Operators (bureau staff) see the members of their region; an institution administrator sees its
own institution's exchange only and no ETL runs (the hub's bookkeeping, as ``/api/monitor/etl``
shows them to bureaus only). Analysts have no monitor: their pages are the indicators.
Every endpoint calls the service functions of ``hub.monitor`` behind ``/api/monitor/…`` with the
viewer's member scope (``members_in`` of the user's cube scope): no second implementation.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from protocol.errors import HubError

from ... import monitor
from ...monitor import Grain, MemberScope
from ...monitor.periods import asked_period
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer
from .pages import page_viewer, render, require
from .users import Role, scope_of

DEFAULT_PERIOD = timedelta(hours=24)
JOURNEY_PERIOD = timedelta(days=7)  # as /api/monitor/journey: where refusals are looked for
Since = Annotated[datetime | None, Query()]
Until = Annotated[datetime | None, Query()]

page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/monitor", route_class=HubErrorRoute, include_in_schema=False)


def member_scope(session: Session, viewer: Viewer) -> MemberScope:
    """The members ``viewer`` may watch (None: every member), from the user's cube scope."""
    scope = scope_of(session, viewer.user)
    return monitor.members_in(session, districts=scope.districts, institutions=scope.institutions)


def sees_etl(viewer: Viewer) -> bool:
    return viewer.user.role is Role.OPERATOR


def _may_watch(viewer: Viewer) -> None:
    require(viewer, "monitor")


def _period(viewer: Viewer, since: datetime | None, until: datetime | None,
            default: timedelta) -> tuple[datetime, datetime]:
    """The asked period, once the viewer's role may watch at all (a refused role learns nothing of its parameters)."""
    _may_watch(viewer)
    return asked_period(since, until, default=default, now=datetime.now(timezone.utc))


def _read(request: Request, viewer: Viewer, read):
    _may_watch(viewer)
    with request.app.state.hub.sessions() as session:
        return read(session, member_scope(session, viewer))


@page.get("/monitor")
def monitor_page(request: Request) -> Response:
    viewer = page_viewer(request, "monitor")
    if not isinstance(viewer, Viewer):
        return viewer
    return render(request, "monitor.html", viewer=viewer, current="monitor", etl=sees_etl(viewer),
                  message_id=request.query_params.get("message_id", "")[:200])


@api.get("/traffic")
async def traffic(request: Request, viewer: ApiViewer, since: Since = None, until: Until = None,
                  grain: Grain = Grain.HOUR) -> dict:
    """Per member and bucket: received, accepted, refused, processed, rejected, pending; and totals."""
    since, until = _period(viewer, since, until, DEFAULT_PERIOD)

    def read(session, scope):
        rows = monitor.traffic(session, scope=scope, since=since, until=until, grain=grain)
        return {"since": since.isoformat(), "until": until.isoformat(), "grain": grain.value, "rows": rows,
                "totals": monitor.totals(rows)}
    return await run_in_threadpool(_read, request, viewer, read)


@api.get("/rejections")
async def rejections(request: Request, viewer: ApiViewer, since: Since = None, until: Until = None) -> dict:
    """Refusals and rejections by (stage, code), with the fault table's message."""
    since, until = _period(viewer, since, until, DEFAULT_PERIOD)
    return await run_in_threadpool(_read, request, viewer, lambda session, scope: {
        "since": since.isoformat(), "until": until.isoformat(),
        "rejections": monitor.rejections(session, scope=scope, since=since, until=until)})


@api.get("/silent")
async def silent(request: Request, viewer: ApiViewer,
                 quiet_hours: Annotated[float, Query(gt=0, le=24 * 92)] = 24) -> dict:
    """Care providers in scope that sent nothing for ``quiet_hours`` (or never)."""
    now = datetime.now(timezone.utc)
    return await run_in_threadpool(_read, request, viewer, lambda session, scope: {
        "now": now.isoformat(), "quiet_hours": quiet_hours,
        "members": monitor.silent_members(session, scope=scope, now=now, quiet_for=timedelta(hours=quiet_hours))})


@api.get("/backlog")
async def backlog(request: Request, viewer: ApiViewer) -> dict:
    """Messages awaiting processing: how many, the oldest's age, per member."""
    now = datetime.now(timezone.utc)
    return await run_in_threadpool(_read, request, viewer, lambda session, scope: {
        "now": now.isoformat(), **monitor.backlog(session, now=now, scope=scope)})


@api.get("/etl")
async def etl(request: Request, viewer: ApiViewer, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict:
    """The latest ETL runs, the watermarks' lag and the reconcile results: operators only."""
    if not sees_etl(viewer):
        raise HubError("access.denied", "ETL runs are shown to operators")
    return await run_in_threadpool(_read, request, viewer, lambda session, scope: monitor.etl_runs(
        session, limit=limit, now=datetime.now(timezone.utc)))


@api.get("/journey/{message_id}")
async def journey(request: Request, viewer: ApiViewer, message_id: Annotated[str, Path(min_length=1, max_length=200)],
                  of: Annotated[str | None, Query(alias="member", max_length=64)] = None,
                  since: Since = None, until: Until = None) -> dict:
    """The message's way through the hub within the viewer's scope; unknown and out of scope alike."""
    since, until = _period(viewer, since, until, JOURNEY_PERIOD)
    found = await run_in_threadpool(_read, request, viewer, lambda session, scope: monitor.journey(
        session, message_id=message_id, scope=scope, member=of, since=since, until=until))
    if not found:
        raise HubError("exchange.message.not_found", "no such message in the viewer's scope")
    return {"message_id": message_id, "journeys": found}


__all__ = ["page", "api", "member_scope", "sees_etl"]
