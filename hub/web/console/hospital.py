"""The hospital indicators dashboard: the seed's six indicators for a month, week or year, against the
period before and the same period a year earlier, by district → institution → department.

Numbers come from the cube API's own function (:func:`hub.web.cubes.answer`) with the viewer's scope,
so scope and small-cell suppression are the cube API's: the page cannot show what the API withholds.
Each chart asks ``GET /console/api/hospital/{indicator}`` on its own, so the page is usable before
every chart has loaded. The answer carries the cube queries it asked (``queries``): the same bodies
posted to ``/api/cubes/{cube}/query`` by a member with the same scope give the same cells. Each row's
changes (环比, 同比) are computed here (:func:`with_changes`), for the page and its export alike.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from olap.cubes import Scope
from olap.cubes.query import unit_start
from protocol.errors import HubError
from protocol.timestamps import utcnow
from schemas.terminology import lookup

from ...registry.models import Institution, Region
from ..cubes import CHINA_OFFSET, answer
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer
from .pages import page_viewer, render, require
from .users import scope_of

UNITS = ("month", "week", "year")
LEVELS = ("institution.district", "institution.institution", "institution.department")


@dataclass(frozen=True)
class HospitalIndicator:
    """One chart: a cube's measure or indicator, its unit, and whether the cube knows departments."""

    key: str
    cube: str
    name: str
    is_measure: bool
    unit: str
    by_department: bool = True


INDICATORS = (
    HospitalIndicator("visits", "visits", "visits", True, "人次"),
    HospitalIndicator("admissions", "admissions", "admissions", True, "人"),
    HospitalIndicator("daily_workload_per_staff", "institution_month", "daily_workload_per_staff", False, "人次",
                      by_department=False),
    HospitalIndicator("charge_per_visit", "visits", "charge_per_visit", False, "元"),
    HospitalIndicator("charge_per_bed_day", "discharges", "charge_per_bed_day", False, "元"),
    HospitalIndicator("revenue_per_100_fixed_assets", "institution_month", "revenue_per_100_fixed_assets", False, "元",
                      by_department=False),
)
_BY_KEY = {indicator.key: indicator for indicator in INDICATORS}


@dataclass(frozen=True)
class View:
    """What the dashboard shows: a period (unit containing ``as_of``) and a place in the drill path."""

    unit: str
    as_of: date
    district: str | None = None
    institution: str | None = None

    @property
    def level(self) -> str:
        return LEVELS[2] if self.institution else LEVELS[1] if self.district else LEVELS[0]

    def periods(self) -> dict[str, dict[str, str]]:
        """This period and the one before, as ``{"from", "to"}`` (whole units)."""
        start = unit_start(self.as_of, self.unit)
        end = _unit_end(start, self.unit)
        previous = unit_start(start - timedelta(days=1), self.unit)
        return {"current": {"from": start.isoformat(), "to": end.isoformat()},
                "previous": {"from": previous.isoformat(), "to": (start - timedelta(days=1)).isoformat()}}

    def filters(self) -> list[dict]:
        if self.institution:
            return [{"level": "institution.institution", "in": [self.institution]}]
        if self.district:
            return [{"level": "institution.district", "in": [self.district]}]
        return []


def _unit_end(start: date, unit: str) -> date:
    if unit == "week":
        return start + timedelta(days=6)
    if unit == "year":
        return date(start.year, 12, 31)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def view_of(request: Request) -> View:
    """The view a page or endpoint was asked for; ``request.invalid`` names the parameter at fault."""
    params = request.query_params
    unit = params.get("unit") or "month"
    if unit not in UNITS:
        raise HubError("request.invalid", "unit: month, week or year", field="/unit")
    try:
        as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else (utcnow() + CHINA_OFFSET).date()
    except ValueError:
        raise HubError("request.invalid", "as_of: YYYY-MM-DD", field="/as_of") from None
    if not date(1971, 1, 1) <= as_of <= date(2105, 11, 30):
        raise HubError("request.invalid", "as_of: 1971-2105", field="/as_of")
    return View(unit, as_of, params.get("district") or None, params.get("institution") or None)


def resolve(request: Request, viewer: Viewer) -> tuple[View, Scope]:
    """The asked view within the viewer's scope (``access.denied`` when its drill path leaves it).

    An institution's user starts at its own institution (its district's institutions, the scope
    leaving only its own), not at a district total that would be its institution alone."""
    view = view_of(request)
    with request.app.state.hub.sessions() as session:
        scope = scope_of(session, viewer.user)
        if viewer.user.institution_code and not view.district and not view.institution:
            view = replace(view, district=_district_of(session, viewer.user.institution_code))
        district = view.district
        if view.institution:
            district = _district_of(session, view.institution)
            if district is None or (scope.institutions is not None and view.institution not in scope.institutions):
                raise HubError("access.denied", "institution outside the viewer's scope")
        if district and scope.districts is not None and district not in scope.districts:
            raise HubError("access.denied", "district outside the viewer's scope")
    return view, scope


def _district_of(session, institution: str) -> str | None:
    return session.scalar(select(Institution.division_code).where(Institution.code == institution))


def queries(indicator: HospitalIndicator, view: View) -> dict[str, dict]:
    """The cube queries behind one chart: this period (with the year-ago comparison and, in the same
    query, the previous period) and the previous period on its own (what an export of it asks)."""
    names = {"measures" if indicator.is_measure else "indicators": [indicator.name]}
    periods = view.periods()
    base = {**names, "group_by": [view.level], "filters": view.filters(), "labels": True,
            "sort": [{"by": view.level}]}
    return {"current": {**base, "period": periods["current"], "compare": ["year_ago", "previous"]},
            "previous": {**base, "period": periods["previous"]}}


def chart(request: Request, viewer: Viewer, key: str) -> dict:
    require(viewer, "hospital")
    indicator = _BY_KEY.get(key)
    if indicator is None:
        raise HubError("cube.indicator.unknown", "no such dashboard indicator", field="/indicator")
    view, scope = resolve(request, viewer)
    base = {"indicator": key, "unit": indicator.unit, "level": view.level, "periods": view.periods()}
    if view.level == LEVELS[2] and not indicator.by_department:
        return {**base, "available": False, "cells": [], "queries": {}}
    asked = queries(indicator, view)
    current = answer(request, indicator.cube, asked["current"], scope=scope)  # one cube query per chart
    previous = current["previous"]
    before = {cell[view.level]: cell for cell in previous["cells"]}
    labels = current.get("labels", {}).get(view.level, {})
    codes = list(dict.fromkeys([*(c[view.level] for c in current["cells"]), *before]))
    now = {cell[view.level]: cell for cell in current["cells"]}
    cells = []
    for code in codes:
        this, last = now.get(code), before.get(code)
        year_ago = (this or {}).get("year_ago")
        cells.append(with_changes({
            "code": code, "label": labels.get(code) or _department(view.level, code),
            "current": _value(this, indicator), "previous": _value(last, indicator),
            # the year-ago comparison rides on this period's cells: without one it is not known
            "year_ago": _value(year_ago, indicator) if this is not None else None,
            "suppressed": {"current": bool(this and this["suppressed"]), "previous": bool(last and last["suppressed"]),
                           "year_ago": bool(year_ago and year_ago["suppressed"])}}))
    return {**base, "available": True, "cells": cells, "queries": {**asked, "cube": indicator.cube},
            "suppressed_cells": current["suppression"]["suppressed_cells"] + previous["suppressed_cells"]}


def change(now: float | None, before: float | None) -> float | None:
    """The change from ``before`` to ``now`` in per cent, one decimal; None when either is unknown or
    ``before`` is 0 (no base)."""
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / abs(before) * 100, 1)


CHANGES = {"change": "previous", "yoy": "year_ago"}  # 环比 against the previous period, 同比 against a year ago


def with_changes(cell: dict) -> dict:
    """A card row with its two changes (``change``: 环比, ``yoy``: 同比), as the page and its export show them.

    A change beside a withheld value is withheld too: with the shown value it would give the withheld one."""
    suppressed = cell["suppressed"]
    shown = {series: None if suppressed[series] else cell[series] for series in ("current", *CHANGES.values())}
    changes = {name: change(shown["current"], shown[base]) for name, base in CHANGES.items()}
    withheld = {name: suppressed["current"] or suppressed[base] for name, base in CHANGES.items()}
    return {**cell, **changes, "suppressed": {**suppressed, **withheld}}


def _value(cell: dict | None, indicator: HospitalIndicator):
    """A cell's value; a period with no cell had nothing (a count of 0, a ratio undefined)."""
    if cell is None:
        return 0 if indicator.is_measure else None
    return cell[indicator.name]


def _department(level: str, code: str) -> str:
    concept = lookup("departments", code) if level == LEVELS[2] else None
    return concept.display if concept else code


def place_names(request: Request, view: View) -> dict[str, str]:
    """Names of the district and institution of the drill path (the breadcrumb)."""
    with request.app.state.hub.sessions() as session:
        names = {}
        district = _district_of(session, view.institution) if view.institution else view.district
        if district:
            names["district"] = session.scalar(select(Region.name).where(Region.code == district)) or district
            names["district_code"] = district
        if view.institution:
            names["institution"] = session.scalar(
                select(Institution.name).where(Institution.code == view.institution)) or view.institution
    return names


page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/hospital", route_class=HubErrorRoute, include_in_schema=False)


@page.get("/hospital")
def hospital_page(request: Request) -> Response:
    viewer = page_viewer(request, "hospital")
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        view, _ = resolve(request, viewer)
    except HubError as refused:
        return render(request, "refused.html", viewer=viewer, current="hospital",
                      status_code=refused.spec.http_status,
                      reason="scope" if refused.code == "access.denied" else "invalid")
    return render(request, "hospital.html", viewer=viewer, current="hospital", view=view,
                  indicators=INDICATORS, names=place_names(request, view))


@api.get("/{indicator}")
async def hospital_chart(request: Request, viewer: ApiViewer, indicator: str) -> dict:
    """One chart's cells: this period, the previous one and a year ago, within the viewer's scope."""
    return await run_in_threadpool(chart, request, viewer, indicator)


__all__ = ["INDICATORS", "HospitalIndicator", "View", "view_of", "resolve", "queries", "chart", "change",
           "with_changes", "page", "api"]
