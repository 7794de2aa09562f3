"""A dashboard card's table as a CSV or XLSX download: one endpoint for every dashboard's cards.

``POST /console/api/export/{page}/{chart}?format=csv|xlsx`` with the dashboard's own view parameters
(``unit``, ``as_of``, ``district``, ``institution``) and the session's CSRF token (``X-CSRF-Token``).
A public-health card's cube query (:func:`dashboard.query_of`) becomes the cube API's
export body with the card's group-by levels as rows (the table's name columns), and the file is built
by the same function as ``POST /api/cubes/{cube}/export`` and the pivot page
(:func:`hub.web.cubes.export_pivot`) with the viewer's scope: withheld cells are ``*`` exactly as in the
API's file, and each export is audited as ``cube.export`` with member ``console:<username>`` and
``<cube>.<format>`` in the audit row's ``detail``. A hospital card's file is its rows as the page shows
them — 本期, 上期, 去年同期, 环比, 同比 — from the page's own function (:mod:`.hospital_export`).
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import Scope
from olap.cubes.export import FORMATS, MEDIA_TYPES
from protocol.errors import HubError

from ... import audit
from ...store.db import transaction
from ..cubes import china_now, export_pivot
from ..errors import HubErrorRoute
from . import diseases, drugs, hospital, hospital_export, maternal, referrals
from .auth import ApiViewer, Viewer, csrf_ok
from .dashboard import CubeChart, query_of
from .hospital import INDICATORS, resolve
from .pages import require

# every page of cube charts, by its page name (the hospital page has its own indicators)
DASHBOARDS: dict[str, dict[str, CubeChart]] = {
    module.__name__.rsplit(".", 1)[1]: {chart.key: chart for chart in module.CHARTS}
    for module in (diseases, drugs, referrals, maternal)}
HOSPITAL = {indicator.key: indicator for indicator in INDICATORS}
_DROPPED = ("labels",)  # the export body sets labels itself (parse_layout)


def export_body(request: Request, viewer: Viewer, page: str, key: str) -> tuple[str, dict, Scope]:
    """The cube, export body and scope of a public-health card (rows: its group-by levels) for the viewer's
    view and scope. (A hospital card's file is built from the page's rows: :func:`hospital_card_export`.)"""
    if page not in DASHBOARDS:
        raise HubError("request.invalid", "no such dashboard", field="/page")
    require(viewer, page)
    view, scope = resolve(request, viewer)
    chart_ = DASHBOARDS[page].get(key)
    if chart_ is None:
        raise HubError("request.invalid", "no such chart on this page", field="/chart")
    cube, (body, _) = chart_.cube, query_of(chart_, view)
    body = {name: value for name, value in body.items() if name not in _DROPPED}
    return cube, {**body, "rows": list(body["group_by"]), "columns": []}, scope


def card_export(request: Request, viewer: Viewer, page: str, key: str, fmt: str) -> Response:
    """The card's table as a file, within the viewer's scope, audited as the cube API's export."""
    if page == "hospital":
        return hospital_card_export(request, viewer, key, fmt)
    cube, body, scope = export_body(request, viewer, page, key)
    return export_pivot(request, cube, body, fmt=fmt, scope=scope, member=f"console:{viewer.user.username}")


def hospital_card_export(request: Request, viewer: Viewer, key: str, fmt: str) -> Response:
    """A hospital card's rows (本期, 上期, 去年同期, 环比, 同比) from the page's own :func:`hospital.chart`."""
    if fmt not in FORMATS:
        raise HubError("cube.export.format", "export format is csv or xlsx", field="/format")
    indicator = HOSPITAL.get(key)
    if indicator is None:
        raise HubError("cube.indicator.unknown", "no such dashboard indicator", field="/chart")
    shown = hospital.chart(request, viewer, key)  # the viewer's scope and the cube's suppression, as on the page
    if not shown["available"]:
        raise HubError("request.invalid", "this indicator has no departments", field="/chart")
    _, scope = resolve(request, viewer)
    member, now = f"console:{viewer.user.username}", china_now()
    if fmt == "csv":
        content = hospital_export.to_csv(indicator, shown)
    else:
        content = hospital_export.to_xlsx(indicator, shown, about=hospital_export.about_lines(
            indicator, shown, scope=hospital_export.scope_words(scope), member=member, generated_at=now))
    with transaction(request.app.state.hub.sessions) as session:  # who exported what, never the data
        audit.record(session, "cube.export", member=member, detail=f"{indicator.cube}.{fmt}",
                     client_address=request.client.host if request.client else None)
    plain, named = hospital_export.filenames(indicator, shown, fmt, generated_at=now)
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(named)}"
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


page = APIRouter(prefix="/console", include_in_schema=False)  # no page of its own: the dashboards' buttons
api = APIRouter(prefix="/console/api/export", route_class=HubErrorRoute, include_in_schema=False)


@api.post("/{dashboard}/{chart}", response_class=Response)
async def export_card(request: Request, viewer: ApiViewer, dashboard: str, chart: str,
                      fmt: Annotated[str, Query(alias="format")] = "csv") -> Response:
    """One card's table as CSV or XLSX (CSRF checked first)."""
    if not csrf_ok(request, {}, viewer.csrf_token):
        raise HubError("access.denied", "no valid CSRF token")
    return await run_in_threadpool(card_export, request, viewer, dashboard, chart, fmt)


__all__ = ["DASHBOARDS", "export_body", "card_export", "hospital_card_export", "page", "api"]
