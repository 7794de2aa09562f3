"""A dashboard card's table as a CSV or XLSX download: one endpoint for every dashboard's cards.

``POST /console/api/export/{page}/{chart}?format=csv|xlsx`` with the dashboard's own view parameters
(``unit``, ``as_of``, ``district``, ``institution``) and the session's CSRF token (``X-CSRF-Token``).
The card's cube query (:func:`dashboard.query_of`, :func:`hospital.queries`) becomes the cube API's
export body with the card's group-by levels as rows (the table's name columns), and the file is built
by the same function as ``POST /api/cubes/{cube}/export`` and the pivot page
(:func:`hub.web.cubes.export_pivot`) with the viewer's scope: withheld cells are ``*`` exactly as in the
API's file, and each export is audited as ``cube.export`` with member ``console:<username>``.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import Scope
from protocol.errors import HubError

from ..cubes import export_pivot
from ..errors import HubErrorRoute
from . import diseases, drugs, maternal, referrals
from .auth import ApiViewer, Viewer, csrf_ok
from .dashboard import CubeChart, query_of
from .hospital import INDICATORS, LEVELS, queries, resolve
from .pages import allowed

# every page of cube charts, by its page name (the hospital page has its own indicators)
DASHBOARDS: dict[str, dict[str, CubeChart]] = {
    module.__name__.rsplit(".", 1)[1]: {chart.key: chart for chart in module.CHARTS}
    for module in (diseases, drugs, referrals, maternal)}
HOSPITAL = {indicator.key: indicator for indicator in INDICATORS}
_DROPPED = ("labels",)  # the export body sets labels itself (parse_layout)


def export_body(request: Request, viewer: Viewer, page: str, key: str) -> tuple[str, dict, Scope]:
    """The cube, export body and scope of one card (rows: its group-by levels) for the viewer's view and scope.

    The hospital card's file is its current period with the year-ago comparison (the query that carries
    both); the previous period is the card's second query and is not in the same file."""
    if page != "hospital" and page not in DASHBOARDS:
        raise HubError("request.invalid", "no such dashboard", field="/page")
    if not allowed(viewer, page):
        raise HubError("access.denied", "the viewer's role may not open this page")
    view, scope = resolve(request, viewer)
    if page == "hospital":
        indicator = HOSPITAL.get(key)
        if indicator is None:
            raise HubError("cube.indicator.unknown", "no such dashboard indicator", field="/chart")
        if view.level == LEVELS[2] and not indicator.by_department:
            raise HubError("request.invalid", "this indicator has no departments", field="/chart")
        cube, body = indicator.cube, queries(indicator, view)["current"]
    else:
        chart = DASHBOARDS[page].get(key)
        if chart is None:
            raise HubError("request.invalid", "no such chart on this page", field="/chart")
        cube, (body, _) = chart.cube, query_of(chart, view)
    body = {name: value for name, value in body.items() if name not in _DROPPED}
    return cube, {**body, "rows": list(body["group_by"]), "columns": []}, scope


def card_export(request: Request, viewer: Viewer, page: str, key: str, fmt: str) -> Response:
    """The card's table as a file, within the viewer's scope, audited as the cube API's export."""
    cube, body, scope = export_body(request, viewer, page, key)
    return export_pivot(request, cube, body, fmt=fmt, scope=scope, member=f"console:{viewer.user.username}")


page = APIRouter(prefix="/console", include_in_schema=False)  # no page of its own: the dashboards' buttons
api = APIRouter(prefix="/console/api/export", route_class=HubErrorRoute, include_in_schema=False)


@api.post("/{dashboard}/{chart}", response_class=Response)
async def export_card(request: Request, viewer: ApiViewer, dashboard: str, chart: str,
                      fmt: Annotated[str, Query(alias="format")] = "csv") -> Response:
    """One card's table as CSV or XLSX (CSRF checked first)."""
    if not csrf_ok(request, {}, viewer.csrf_token):
        raise HubError("access.denied", "no valid CSRF token")
    return await run_in_threadpool(card_export, request, viewer, dashboard, chart, fmt)


__all__ = ["DASHBOARDS", "export_body", "card_export", "page", "api"]
