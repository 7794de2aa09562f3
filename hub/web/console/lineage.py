"""The lineage view: from a number on the hospital dashboard, the facts behind that cell and, for a
fact, its lineage — the OLTP row, the signed message's id and digests — within the viewer's scope.

The cell is the one the dashboard showed: the chart's own cube query (``hospital.queries``, the same
view and scope) answered again, and its first fact keys listed by ``olap.cubes.facts.cell_fact_keys``,
which refuses a withheld cell before reading a fact (``access.denied``). A fact's lineage is
``etl.lineage.lineage`` (as ``GET /api/lineage/{fact_key}``), shown only when the fact's institution
is one the viewer may see (``members_in`` of the user's cube scope); otherwise ``access.denied``.
Identifiers and digests only: never a document or anything about a patient.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import CubeError, parse_query
from olap.cubes.facts import cell_fact_keys
from olap.errors import BackendUnavailable, OlapError
from protocol.errors import HubError
from protocol.timestamps import utcnow

from ... import monitor
from ..cubes import CHINA_OFFSET
from ..errors import HubErrorRoute
from ..lineage import found_lineage
from .auth import ApiViewer, Viewer
from .dashboard import query_of, traced
from .exports import DASHBOARDS
from .hospital import INDICATORS, queries, resolve
from .pages import allowed, page_viewer, render
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
    With ``page`` (a public-health dashboard): that page's chart, ``value`` and ``code2`` (the series)."""
    if request.query_params.get("page"):
        return _public_health_cell(request, viewer)
    if not allowed(viewer, "lineage") or not allowed(viewer, "hospital"):
        raise HubError("access.denied", "the viewer's role may not open this page")
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
    mart = getattr(request.app.state, "mart", None)
    if mart is None:
        raise HubError("olap.unavailable", "no mart configured")
    with _refusals():
        query = parse_query(indicator.cube, body, today=(utcnow() + CHINA_OFFSET).date())
        found = cell_fact_keys(mart, query, {view.level: code}, scope=scope)
    return {**found, "chart": indicator.key, "series": series, "level": view.level, "code": code}


def _public_health_cell(request: Request, viewer: Viewer) -> dict:
    """A public-health chart's cell: only a value that names its facts (``dashboard.traced``)."""
    params = request.query_params
    name = params.get("page", "")
    if name not in DASHBOARDS:
        raise HubError("request.invalid", "no such dashboard", field="/page")
    if not allowed(viewer, "lineage") or not allowed(viewer, name):
        raise HubError("access.denied", "the viewer's role may not open this page")
    chart = DASHBOARDS[name].get(params.get("chart", ""))
    if chart is None:
        raise HubError("request.invalid", "no such chart on this page", field="/chart")
    view, scope = resolve(request, viewer)
    body, _ = query_of(chart, view)
    value = params.get("value", "")
    if value not in traced(chart, body):
        raise HubError("request.invalid", "this value cannot name its facts (a rate, sum or distinct count)",
                       field="/value")
    codes = [params.get("code", ""), params.get("code2", "")][:len(body["group_by"])]
    if not all(codes) or any(len(code) > 64 for code in codes):
        raise HubError("request.invalid", "code: the cell's code", field="/code")
    body = {**{key: item for key, item in body.items() if key not in ("labels", "sort", "top")},
            "measures": [value], "indicators": []}
    mart = getattr(request.app.state, "mart", None)
    if mart is None:
        raise HubError("olap.unavailable", "no mart configured")
    with _refusals():
        query = parse_query(chart.cube, body, today=(utcnow() + CHINA_OFFSET).date())
        found = cell_fact_keys(mart, query, dict(zip(body["group_by"], codes)), scope=scope)
    return {**found, "page": name, "chart": chart.key, "value": value, "level": body["group_by"][0],
            "code": codes[0]}


def fact_lineage(request: Request, viewer: Viewer, fact_key: str) -> dict:
    """``etl.lineage`` of one fact when its institution is within the viewer's scope."""
    if not allowed(viewer, "lineage"):
        raise HubError("access.denied", "the viewer's role may not open this page")
    with request.app.state.hub.sessions() as session:
        answer, owner = found_lineage(session, fact_key)
        scope = scope_of(session, viewer.user)
        members = monitor.members_in(session, districts=scope.districts, institutions=scope.institutions)
        if members is not None and owner not in members:
            raise HubError("access.denied", "lineage of a fact outside the viewer's scope")
    return answer


@page.get("/lineage")
def lineage_page(request: Request) -> Response:
    viewer = page_viewer(request, "lineage")
    if not isinstance(viewer, Viewer):
        return viewer
    params = request.query_params
    cell = {name: params.get(name, "")[:64] for name in ("page", "chart", "value", "code", "code2", "series", "unit",
                                                         "as_of", "district", "institution", "label")}
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
