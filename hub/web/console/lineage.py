"""The lineage view: from a number on a dashboard (hospital or public-health, trends included) or a
pivot's cell, the facts behind that cell and, for a fact, its lineage — the OLTP row, the signed
message's id and digests — within the viewer's scope.

The cell is the one the page showed: the chart's own cube query (``hospital.queries`` or
``dashboard.query_of``, the same view and scope) or the pivot's query the link carries, answered
again, and its first fact keys listed by ``olap.cubes.facts.cell_fact_keys``, which refuses a
withheld cell before reading a fact (``access.denied``). A fact's lineage is
``etl.lineage.lineage`` (as ``GET /api/lineage/{fact_key}``), shown only when the fact's institution
is one the viewer may see (``members_in`` of the user's cube scope); otherwise ``access.denied``.
Identifiers and digests only: never a document or anything about a patient.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import CubeError, Query, Scope, get_cube, parse_query
from olap.cubes.facts import cell_fact_keys, traceable
from olap.errors import BackendUnavailable, OlapError
from protocol.errors import HubError
from protocol.timestamps import utcnow

from ... import monitor
from ..cubes import CHINA_OFFSET
from ..errors import HubErrorRoute
from ..lineage import found_lineage
from .auth import ApiViewer, Viewer
from .dashboard import DISTRICT, INSTITUTION, query_of
from .exports import DASHBOARDS
from .hospital import INDICATORS, queries, resolve
from .pages import allowed, page_viewer, render, require
from .pivot import MAX_LINK_QUERY, linked_query
from .users import scope_of

SERIES = ("current", "previous")  # the year-ago value rides on the current query: not traced
_BY_KEY = {indicator.key: indicator for indicator in INDICATORS}

page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/lineage", route_class=HubErrorRoute, include_in_schema=False)


@contextmanager
def _refusals() -> Iterator[None]:
    """The cube layer's errors as the console's codes (never the engine's text)."""
    try:
        yield
    except CubeError as exc:
        raise HubError(exc.code, "cell refused", field=exc.fields.get("field")) from None
    except BackendUnavailable as exc:
        raise HubError("olap.unavailable", exc.code) from None
    except OlapError as exc:
        raise HubError("server.error", exc.code) from None


def cell_facts(request: Request, viewer: Viewer) -> dict:
    """The first fact keys behind one cell of a dashboard chart (``chart``, ``code``, ``series`` and the
    dashboard's own view parameters), within the viewer's scope; a withheld cell: ``access.denied``.
    With ``page``: a public-health dashboard's chart or (``page=pivot``) the pivot's ``query``, the
    ``value`` traced and one ``code`` per group-by level, in order."""
    if request.query_params.get("page") == "pivot":
        return _pivot_cell(request, viewer)
    if request.query_params.get("page"):
        return _public_health_cell(request, viewer)
    require(viewer, "lineage", "hospital")
    params = request.query_params
    indicator = _BY_KEY.get(params.get("chart", ""))
    if indicator is None:
        raise HubError("cube.indicator.unknown", "no such dashboard indicator", field="/chart")
    series = params.get("series") or "current"
    if series not in SERIES:
        raise HubError("request.invalid", "series: current or previous", field="/series")
    code = params.get("code", "")
    if not code or len(code) > 64:
        raise HubError("request.invalid", "code: the cell's code", field="/code")
    view, scope = resolve(request, viewer)
    body = queries(indicator, view)[series]
    body = {name: value for name, value in body.items() if name not in ("compare", "labels", "sort")}
    with _refusals():
        query = parse_query(indicator.cube, body, today=(utcnow() + CHINA_OFFSET).date())
        found = cell_fact_keys(_mart(request), query, {view.level: code}, scope=scope)
    return {**found, "chart": indicator.key, "series": series, "level": view.level, "code": code}


def _mart(request: Request):
    mart = getattr(request.app.state, "mart", None)
    if mart is None:
        raise HubError("olap.unavailable", "no mart configured")
    return mart


def _query_cell(request: Request, query: Query, scope: Scope) -> dict:
    """The cell of ``query`` named by ``value`` and the ``code`` parameters (one per group-by level, in
    order): only a value whose cells name their facts (``facts.traceable``), answered again by ``query``
    within ``scope`` before any fact is read. The public-health pages and the pivot share it."""
    params = request.query_params
    value = params.get("value", "")
    if value not in traceable(query.cube, query.group_by, query.measures):
        raise HubError("request.invalid", "this value cannot name its facts (a rate, sum or distinct count)",
                       field="/value")
    codes = _codes(request, query)
    if _outside(scope, query, codes):
        raise HubError("access.denied", "a cell outside the viewer's scope")
    with _refusals():
        found = cell_fact_keys(_mart(request), query, dict(zip(query.group_by, codes)), scope=scope, value=value)
    return {**found, "value": value, "level": query.group_by[0] if query.group_by else None,
            "code": codes[0] if codes else None, "codes": codes}


def _codes(request: Request, query: Query) -> list[str]:
    """The cell's codes from the ``code`` parameters: one per group-by level, in the query's order."""
    codes = request.query_params.getlist("code")
    if len(codes) != len(query.group_by) or not all(codes) or any(len(code) > 64 for code in codes):
        raise HubError("request.invalid", "code: one per group-by level", field="/code")
    return codes


def _outside(scope: Scope, query: Query, codes: list[str]) -> bool:
    """Whether the cell names a district or an institution outside ``scope`` (refused as ``access.denied``:
    the viewer knows its own scope, so saying so tells nothing about the place)."""
    for level, code in zip(query.group_by, codes):
        if level == DISTRICT and scope.districts is not None and code not in scope.districts:
            return True
        if level == INSTITUTION and scope.institutions is not None and code not in scope.institutions:
            return True
    return False


def _public_health_cell(request: Request, viewer: Viewer) -> dict:
    """A public-health chart's cell: the chart's own query for the view, as the card asked it."""
    params = request.query_params
    name = params.get("page", "")
    if name not in DASHBOARDS:
        raise HubError("request.invalid", "no such dashboard", field="/page")
    require(viewer, "lineage", name)
    chart = DASHBOARDS[name].get(params.get("chart", ""))
    if chart is None:
        raise HubError("request.invalid", "no such chart on this page", field="/chart")
    view, scope = resolve(request, viewer)
    body, _ = query_of(chart, view)
    with _refusals():
        query = parse_query(chart.cube, {**body, "labels": False}, today=(utcnow() + CHINA_OFFSET).date())
    return {**_query_cell(request, query, scope), "page": name, "chart": chart.key}


def _pivot_cell(request: Request, viewer: Viewer) -> dict:
    """A pivot's cell: the pivot's query carried by the link (``pivot.linked_query``), the viewer's scope."""
    require(viewer, "lineage", "pivot")
    query, scope = linked_query(request, viewer)
    return {**_query_cell(request, query, scope), "page": "pivot"}


def _refused_view(request: Request, viewer: Viewer, page_name: str) -> HubError | None:
    """The refusal of a cell's view by the viewer's scope, checked before the page is drawn: the
    dashboard's district or institution (``hospital.resolve``), or a pivot cell's place."""
    try:
        if page_name == "pivot":
            if allowed(viewer, "pivot"):
                query, scope = linked_query(request, viewer)
                if _outside(scope, query, request.query_params.getlist("code")):
                    raise HubError("access.denied", "a cell outside the viewer's scope")
        else:
            view, scope = resolve(request, viewer)
            chart = DASHBOARDS.get(page_name, {}).get(request.query_params.get("chart", ""))
            levels = query_of(chart, view)[0]["group_by"] if chart else [view.level] if not page_name else []
            if _outside(scope, Query("", group_by=tuple(levels)), request.query_params.getlist("code")):
                raise HubError("access.denied", "a cell outside the viewer's scope")
    except HubError as refused:
        return refused if refused.code == "access.denied" else None
    return None


def fact_lineage(request: Request, viewer: Viewer, fact_key: str) -> dict:
    """``etl.lineage`` of one fact when its institution is within the viewer's scope."""
    require(viewer, "lineage")
    with request.app.state.hub.sessions() as session:
        answer, owner = found_lineage(session, fact_key)
        scope = scope_of(session, viewer.user)
        members = monitor.members_in(session, districts=scope.districts, institutions=scope.institutions)
        if members is not None and owner not in members:
            raise HubError("access.denied", "lineage of a fact outside the viewer's scope")
    return answer


def _measure_of(raw: str, value: str) -> tuple[str, str]:
    """A pivot cell's cube and its measure's title (the name itself when the query does not parse)."""
    try:
        cube = get_cube(json.loads(raw[:MAX_LINK_QUERY])["cube"])
        return cube.name, cube.measure(value).title or value
    except (ValueError, TypeError, KeyError, CubeError, RecursionError):
        return "", value


@page.get("/lineage")
def lineage_page(request: Request) -> Response:
    viewer = page_viewer(request, "lineage")
    if not isinstance(viewer, Viewer):
        return viewer
    params = request.query_params
    cell = {name: params.get(name, "")[:64] for name in ("page", "chart", "value", "code", "series")}
    cell["label"] = params.get("label", "")[:200]
    # a cell to trace: a dashboard chart's (chart and code) or a pivot's (its query); the script sends the
    # page's own parameters to /console/api/lineage/cell, which checks them all
    cell["traced"] = bool(cell["chart"] and cell["code"]) or (cell["page"] == "pivot" and bool(params.get("query")))
    if cell["page"] == "pivot":
        cell["cube"], cell["value_title"] = _measure_of(params.get("query", ""), cell["value"])
    refused = _refused_view(request, viewer, cell["page"]) if cell["traced"] else None
    if refused is not None:
        return render(request, "refused.html", viewer=viewer, current="lineage", status_code=refused.spec.http_status,
                      reason="scope")
    return render(request, "lineage.html", viewer=viewer, current="lineage", cell=cell,
                  fact_key=params.get("fact_key", "")[:100], journeys=allowed(viewer, "monitor"))


@api.get("/cell")
async def lineage_cell(request: Request, viewer: ApiViewer) -> dict:
    """The facts behind a dashboard cell (at most 50; ``complete`` says whether that is all)."""
    return await run_in_threadpool(cell_facts, request, viewer)


@api.get("/fact/{fact_key}")
async def lineage_fact(request: Request, viewer: ApiViewer, fact_key: str) -> dict:
    """A fact's OLTP row, document and signed message: ids and digests."""
    return await run_in_threadpool(fact_lineage, request, viewer, fact_key)


__all__ = ["page", "api", "cell_facts", "fact_lineage", "SERIES"]
