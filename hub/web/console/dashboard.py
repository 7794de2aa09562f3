"""What the public-health dashboards share: a chart as one declared cube query, its period (the unit
containing ``as_of``, or a window of units up to it for a trend), the drill path district →
institution, and the page and JSON endpoint of a page of such charts.

Every chart's cells are the cube API's own answer (:func:`hub.web.cubes.answer` with the viewer's
scope), passed through unchanged: a withheld value arrives as ``null`` with ``"suppressed": true``,
so a page cannot show what the API withholds. The endpoint returns the query it asked (``query``):
posted to ``/api/cubes/{cube}/query`` by a member with the same scope it gives the same cells.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import get_cube
from olap.cubes.facts import traceable
from olap.cubes.query import unit_start
from protocol.errors import HubError

from ..cubes import answer
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer
from .hospital import View, place_names, resolve
from .pages import page_viewer, render, require

DISTRICT, INSTITUTION = "institution.district", "institution.institution"
WINDOW = {"month": 12, "week": 12, "year": 3}  # how many units a trend shows, ending with as_of's unit
PLACE, TIME = "place", "time"


@dataclass(frozen=True)
class CubeChart:
    """One chart: a cube, its measures and indicators, and what its cells are grouped by.

    ``by``: ``place`` (district, or the institutions of the district drilled to), ``time`` (the
    window's units) or a level of the cube (``drug.drug``); ``series``: a second level (one line or
    bar per value). ``district_only``: values that the cube can answer by district but not by
    institution (a population denominator is declared per district), left out below districts."""

    key: str
    cube: str
    measures: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    by: str = PLACE
    series: str | None = None
    plot: str = ""  # the value drawn (the table shows them all); default the first
    kind: str = "bar"  # bar | line
    top: int | None = None
    district_only: tuple[str, ...] = ()

    @property
    def drawn(self) -> str:
        return self.plot or (self.measures + self.indicators)[0]


def level_of(view: View) -> str:
    """The place level a view shows: districts, or the institutions of one district (or one institution)."""
    return INSTITUTION if view.district or view.institution else DISTRICT


def period_of(view: View, *, trend: bool) -> dict[str, str]:
    """The unit containing ``as_of`` or, for a trend, the ``WINDOW`` units ending with it (whole units)."""
    end = _unit_end(unit_start(view.as_of, view.unit), view.unit)
    start = unit_start(view.as_of, view.unit)
    for _ in range(WINDOW[view.unit] - 1 if trend else 0):
        start = unit_start(start - timedelta(days=1), view.unit)
    return {"from": start.isoformat(), "to": end.isoformat()}


def axis_of(view: View) -> list[str]:
    """Every unit of a trend's window, as the cube renders its date level (a unit without cells is shown too)."""
    start = unit_start(view.as_of, view.unit)
    units = [start]
    for _ in range(WINDOW[view.unit] - 1):
        units.insert(0, unit_start(units[0] - timedelta(days=1), view.unit))
    shape = {"month": lambda d: d.isoformat()[:7], "week": date.isoformat, "year": lambda d: f"{d.year:04d}"}
    return [shape[view.unit](unit) for unit in units]


def _unit_end(start: date, unit: str) -> date:
    if unit == "week":
        return start + timedelta(days=6)
    if unit == "year":
        return date(start.year, 12, 31)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)


def query_of(chart: CubeChart, view: View) -> tuple[dict, list[str]]:
    """The cube query behind ``chart`` for ``view``, and the values left out at this level."""
    level = level_of(view)
    omitted = list(chart.district_only) if level != DISTRICT else []
    first = f"date.{view.unit}" if chart.by == TIME else level if chart.by == PLACE else chart.by
    group_by = [first, *([chart.series] if chart.series else [])]
    filters = [{"level": INSTITUTION, "in": [view.institution]}] if view.institution else \
        [{"level": DISTRICT, "in": [view.district]}] if view.district else []
    body = {"measures": [m for m in chart.measures if m not in omitted],
            "indicators": [i for i in chart.indicators if i not in omitted],
            "group_by": group_by, "filters": filters, "period": period_of(view, trend=chart.by == TIME),
            "labels": True}
    if chart.top:
        body.update(sort=[{"by": chart.drawn, "desc": True}], top=chart.top)
    else:
        body["sort"] = [{"by": name} for name in group_by]
    return body, omitted


def units_of(cube: str, names: list[str]) -> dict[str, str]:
    """Each value's unit as the cube declares it (money in fen: ``分``, shown in yuan by the page)."""
    declared = get_cube(cube)
    units = {m.name: m.unit for m in declared.measures}
    units.update({i.name: i.unit for i in declared.indicators})
    return {name: units.get(name, "") for name in names}


def traced(chart: CubeChart, body: dict) -> list[str]:
    """The values of ``chart`` whose cells can name their facts (``olap.cubes.facts.traceable``: plain
    counts grouped by filters and dates; a trend's month narrows the period)."""
    return traceable(chart.cube, body["group_by"], body["measures"])


def chart_answer(request: Request, viewer: Viewer, *, page: str, charts: dict[str, CubeChart], key: str) -> dict:
    """One chart's cells within the viewer's scope (``access.denied`` for a role or a place outside it)."""
    require(viewer, page)
    chart = charts.get(key)
    if chart is None:
        raise HubError("request.invalid", "no such chart on this page", field="/chart")
    view, scope = resolve(request, viewer)
    body, omitted = query_of(chart, view)
    cells = answer(request, chart.cube, body, scope=scope)
    names = [*cells["measures"], *cells["indicators"]]
    return {"chart": key, "cube": chart.cube, "query": body, "group_by": cells["group_by"], "values": names,
            "units": units_of(chart.cube, names), "plot": chart.drawn if chart.drawn in names else names[0],
            "kind": chart.kind, "by": chart.by, "omitted": omitted, "period": cells["period"],
            "traced": traced(chart, body), "axis": axis_of(view) if chart.by == TIME else None,
            "cells": cells["cells"], "labels": cells.get("labels", {}),
            "suppressed_cells": cells["suppression"]["suppressed_cells"]}


def dashboard_routers(*, page: str, template: str, charts: tuple[CubeChart, ...]) -> tuple[APIRouter, APIRouter]:
    """The page ``/console/{page}`` and its endpoint ``/console/api/{page}/{chart}``."""
    by_key = {chart.key: chart for chart in charts}
    pages = APIRouter(prefix="/console", include_in_schema=False)
    api = APIRouter(prefix=f"/console/api/{page}", route_class=HubErrorRoute, include_in_schema=False)

    @pages.get(f"/{page}", name=f"console_{page}")
    def show(request: Request) -> Response:
        viewer = page_viewer(request, page)
        if not isinstance(viewer, Viewer):
            return viewer
        try:
            view, _ = resolve(request, viewer)
        except HubError as refused:
            return render(request, "refused.html", viewer=viewer, current=page, status_code=refused.spec.http_status,
                          reason="scope" if refused.code == "access.denied" else "invalid")
        return render(request, template, viewer=viewer, current=page, page=page, view=view, level=level_of(view),
                      charts=charts, names=place_names(request, view))

    @api.get("/{chart}", name=f"console_{page}_chart")
    async def chart_cells(request: Request, viewer: ApiViewer, chart: str) -> dict:
        return await run_in_threadpool(chart_answer, request, viewer, page=page, charts=by_key, key=chart)

    return pages, api


__all__ = ["CubeChart", "PLACE", "TIME", "WINDOW", "level_of", "period_of", "axis_of", "query_of", "units_of", "traced", "chart_answer",
           "dashboard_routers"]
