"""The pivot browser: any declared cube, its measures and indicators by row and column levels, filtered,
over a relative period, with totals; CSV and XLSX exports of exactly the table shown.

The page posts the cube API's export body (``docs/cubes.md`` Export) plus ``cube``; the table and the
files come from the same function as ``POST /api/cubes/{cube}/export`` (:func:`hub.web.cubes.pivot`,
:func:`hub.web.cubes.export_pivot`) with the viewer's scope, so scope, small-cell suppression and the
totals' protection are the API's. Every POST carries the session's CSRF token (``X-CSRF-Token``).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import CubeError, Entry, Pivot, Scope, describe_all, get_cube, parse_layout, parse_query
from olap.cubes import Query as CubeQuery
from olap.cubes.facts import traceable
from protocol.errors import HubError

from ..bodies import read_json
from ..cubes import answer, china_now, export_pivot, pivot
from ..errors import HubErrorRoute, json_body
from .auth import ApiViewer, Viewer, csrf_ok
from .pages import page_viewer, render, require
from .users import scope_of

MAX_BODY_BYTES = 64 * 1024  # a pivot's layout and filters; anything larger is not the page's
MAX_MEMBERS = 200  # a filter offers a list up to this many members, a text input beyond
MAX_LINK_QUERY = 4096  # the pivot's body a lineage URL carries (``query``)
# Relative periods offered by the page: the ``period`` of a cube query, anchored on ``as_of``
PERIODS = {
    "this_month": {"this": "month"}, "last_month": {"last": 1, "unit": "month"},
    "this_quarter": {"this": "quarter"}, "last_quarter": {"last": 1, "unit": "quarter"},
    "this_year": {"this": "year"}, "last_year": {"last": 1, "unit": "year"},
    "last_3_months": {"last": 3, "unit": "month"}, "last_6_months": {"last": 6, "unit": "month"},
    "last_12_months": {"last": 12, "unit": "month"}, "last_4_weeks": {"last": 4, "unit": "week"},
}


def viewer_scope(request: Request, viewer: Viewer) -> Scope:
    require(viewer, "pivot")
    with request.app.state.hub.sessions() as session:
        return scope_of(session, viewer.user)


async def _posted(request: Request, viewer: Viewer) -> tuple[str, dict]:
    """The posted pivot (CSRF checked first): the cube's name and the export body without it."""
    if not csrf_ok(request, {}, viewer.csrf_token):
        raise HubError("access.denied", "no valid CSRF token")
    body = await read_json(request, limit=MAX_BODY_BYTES)
    if not isinstance(body, dict) or not isinstance(body.get("cube"), str):
        raise HubError("request.invalid", "a pivot names its cube", field="/cube")
    return body["cube"], {key: value for key, value in body.items() if key != "cube"}


def _entry(item: str | Entry) -> dict:
    if isinstance(item, str):
        return {"text": item}
    return {"value": None if item.withheld else item.value, "withheld": item.withheld}


def table_of(shown: Pivot) -> dict:
    """A pivot as the page draws it: the export's header and lines (entries as values or withheld),
    and each column's unit for the number format."""
    per_value = len(shown.columns) + 1 if shown.column_levels else 1
    units = [""] * len(shown.row_levels) + [value.unit for value in shown.values for _ in range(per_value)]
    cells = shown.answer  # the cube's answer for the cells: its period and suppression count
    # where each value column sits: its value and column codes (None: the row total), for the lineage links
    slots = [{"value": value.name, "year_ago": value.year_ago, "codes": list(column) if column is not None else None}
             for value in shown.values
             for column in ([*shown.columns, None] if shown.column_levels else [()])]
    query = shown.query
    return {"cube": shown.query.cube, "header": shown.header(), "units": units,
            "row_levels": list(shown.row_levels), "column_levels": list(shown.column_levels),
            "lines": [[_entry(item) for item in line] for line in shown.lines()],
            "notes": list(shown.notes), "period": cells.get("period"), "compare_period": cells.get("compare_period"),
            "suppressed_cells": cells.get("suppression", {}).get("suppressed_cells", 0),
            "row_codes": [list(row) for row in shown.rows], "slots": slots,
            "traced": traceable(query.cube, query.group_by, query.measures)}


def linked_query(request: Request, viewer: Viewer) -> tuple[CubeQuery, Scope]:
    """The pivot query a lineage link carries (``query``: the page's pivot body, its period as the table
    showed it) and the viewer's scope: the cell is answered again by exactly that query."""
    raw = request.query_params.get("query", "")
    if not raw or len(raw) > MAX_LINK_QUERY:
        raise HubError("request.invalid", "query: the pivot's body", field="/query")
    body = json_body(raw.encode())
    if not isinstance(body, dict) or not isinstance(body.get("cube"), str):
        raise HubError("request.invalid", "a pivot names its cube", field="/query/cube")
    scope = viewer_scope(request, viewer)
    try:
        asked, _, _ = parse_layout({key: value for key, value in body.items() if key != "cube"})
        return parse_query(body["cube"], {**asked, "labels": False}, today=china_now().date()), scope
    except CubeError as exc:
        raise HubError(exc.code, "pivot query refused", field=exc.fields.get("field")) from None


def members(request: Request, viewer: Viewer, cube: str, level: str) -> dict:
    """The members of ``level`` present in the cube within the viewer's scope (codes and names),
    or ``complete: false`` when there are more than a list can offer."""
    scope = viewer_scope(request, viewer)
    try:
        measure = get_cube(cube).measures[0].name  # any measure: its cells name the members present
    except CubeError:
        raise HubError("cube.not_found", "no such cube", field="/cube") from None
    found = answer(request, cube, {"measures": [measure], "group_by": [level], "labels": True,
                                   "top": MAX_MEMBERS + 1, "sort": [{"by": level}]}, scope=scope)
    names = found.get("labels", {}).get(level, {})
    codes = [str(cell[level]) for cell in found["cells"]]
    return {"level": level, "complete": len(codes) <= MAX_MEMBERS,
            "members": [{"code": code, "label": names.get(code, code)} for code in codes[:MAX_MEMBERS]]}


page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/pivot", route_class=HubErrorRoute, include_in_schema=False)


@page.get("/pivot")
def pivot_page(request: Request) -> Response:
    viewer = page_viewer(request, "pivot")
    if not isinstance(viewer, Viewer):
        return viewer
    return render(request, "pivot.html", viewer=viewer, current="pivot", cubes=describe_all(),
                  periods=PERIODS, as_of=china_now().date().isoformat())


@api.post("")
async def pivot_table(request: Request, viewer: ApiViewer) -> dict:
    """The pivot's table (header, lines, totals, notes) within the viewer's scope."""
    cube, body = await _posted(request, viewer)

    def build() -> dict:
        return table_of(pivot(request, cube, body, scope=viewer_scope(request, viewer)))
    return await run_in_threadpool(build)


@api.post("/export", response_class=Response)
async def pivot_export(request: Request, viewer: ApiViewer,
                       fmt: Annotated[str, Query(alias="format")] = "csv") -> Response:
    """The same pivot as a CSV or XLSX download, audited as the cube API's export (member ``console:<user>``)."""
    cube, body = await _posted(request, viewer)

    def build() -> Response:
        return export_pivot(request, cube, body, fmt=fmt, scope=viewer_scope(request, viewer),
                            member=f"console:{viewer.user.username}")
    return await run_in_threadpool(build)


@api.get("/members")
async def pivot_members(request: Request, viewer: ApiViewer, cube: str, level: str) -> dict:
    """A filter's choices: the level's members in the viewer's scope."""
    return await run_in_threadpool(members, request, viewer, cube, level)


__all__ = ["PERIODS", "MAX_LINK_QUERY", "table_of", "members", "linked_query", "viewer_scope", "page", "api"]
