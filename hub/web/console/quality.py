"""The data-quality page (数据质量): the region's institutions ranked for a month by each dimension of
the data-quality figures (docs/data-quality.md, "Figures"), and one institution's finding and
rejection codes, each with what it means in the viewer's language (``i18n.code_message``).

Server-rendered from the cube API's own function (:func:`hub.web.cubes.answer`) with the viewer's
scope, so scope and small-cell suppression are the cube API's; ``GET /console/api/quality`` answers
the same rows as JSON with the cube queries it asked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from olap.cubes import Scope
from protocol.errors import HubError
from protocol.timestamps import utcnow

from ...registry.models import Institution
from ..cubes import CHINA_OFFSET, answer
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer
from .i18n import code_message
from .pages import page_viewer, render, require
from .users import scope_of

PAGE = "quality"
REPORTED = "institution_month.reported_visits"
GAP = "visit_gap"  # |reported - counted|: computed here from the two measures of one answer


@dataclass(frozen=True)
class Column:
    """One figure of a ranking: a measure or indicator of ``data_quality``, its unit, and which way is better."""

    name: str
    unit: str = ""
    indicator: bool = True
    higher_is_better: bool = True


DIMENSIONS: dict[str, tuple[Column, ...]] = {  # the first column ranks
    "completeness": (Column("resident_id_rate", "%"), Column("coded_diagnosis_rate", "%"),
                     Column("charges_rate", "%"), Column("patient_documents", "份", indicator=False)),
    "validity": (Column("findings_per_1000", "条/千份", higher_is_better=False),
                 Column("rejections_per_1000", "条/千条", higher_is_better=False),
                 Column("documents", "份", indicator=False)),
    "timeliness": (Column("within_24h_rate", "%"), Column("within_72h_rate", "%"),
                   Column("median_lateness_hours", "小时", indicator=False, higher_is_better=False),
                   Column("documents", "份", indicator=False)),
    "consistency": (Column("visits_vs_reported", "%"), Column("visits", "人次", indicator=False),
                    Column(REPORTED, "人次", indicator=False)),
    "linkage": (Column("linkage_rate", "%"), Column("patient_documents", "份", indicator=False)),
}


@dataclass(frozen=True)
class View:
    month: date  # the first day
    dimension: str = "completeness"
    institution: str | None = None

    def period(self) -> dict[str, str]:
        after = date(self.month.year + self.month.month // 12, self.month.month % 12 + 1, 1)
        return {"from": self.month.isoformat(), "to": (after - timedelta(days=1)).isoformat()}


def view_of(request: Request) -> View:
    """The asked month (``YYYY-MM``, default this month), dimension and institution; ``request.invalid``."""
    params = request.query_params
    dimension = params.get("dimension") or "completeness"
    if dimension not in DIMENSIONS:
        raise HubError("request.invalid", "dimension: " + ", ".join(DIMENSIONS), field="/dimension")
    try:
        month = date.fromisoformat(f"{params['month']}-01") if params.get("month") else \
            (utcnow() + CHINA_OFFSET).date().replace(day=1)
    except ValueError:
        raise HubError("request.invalid", "month: YYYY-MM", field="/month") from None
    if not date(1971, 1, 1) <= month <= date(2105, 11, 1):
        raise HubError("request.invalid", "month: 1971-2105", field="/month")
    return View(month, dimension, params.get("institution") or None)


def _scope(request: Request, viewer: Viewer, view: View) -> Scope:
    """The viewer's scope; ``access.denied`` when the asked institution lies outside it."""
    with request.app.state.hub.sessions() as session:
        scope = scope_of(session, viewer.user)
        if view.institution:
            district = session.scalar(select(Institution.division_code).where(Institution.code == view.institution))
            if district is None or (scope.institutions is not None and view.institution not in scope.institutions) \
                    or (scope.districts is not None and district not in scope.districts):
                raise HubError("access.denied", "institution outside the viewer's scope")
    return scope


def ranking_query(view: View) -> dict:
    """The cube query of the ranking: every institution's figures of the view's dimension."""
    columns = DIMENSIONS[view.dimension]
    first = columns[0]
    return {"measures": [c.name for c in columns if not c.indicator],
            "indicators": [c.name for c in columns if c.indicator],
            "group_by": ["institution.institution"], "period": view.period(), "labels": True,
            "sort": [{"by": first.name, "desc": first.higher_is_better}, {"by": "institution.institution"}]}


def codes_queries(view: View) -> dict[str, dict]:
    """The cube queries of one institution's codes: its findings and its rejections in the month."""
    only = [{"level": "institution.institution", "in": [view.institution]}]
    return {
        "findings": {"measures": ["findings"], "indicators": ["per_1000_documents"],
                     "group_by": ["finding.dimension", "finding.code"], "filters": only, "period": view.period(),
                     "sort": [{"by": "findings", "desc": True}, {"by": "finding.code"}]},
        "rejections": {"measures": ["rejections"], "indicators": ["per_1000_messages"],
                       "group_by": ["rejection.code"], "filters": only, "period": view.period(),
                       "sort": [{"by": "rejections", "desc": True}, {"by": "rejection.code"}]},
    }


def _gap(cell: dict) -> float | None:
    counted, reported = cell.get("visits"), cell.get(REPORTED)
    return None if counted is None or reported is None else abs(reported - counted)


def figures(request: Request, viewer: Viewer) -> dict:
    """The page's rows: the ranking, and the codes of the institution drilled into (if any)."""
    require(viewer, PAGE)
    view = view_of(request)
    scope = _scope(request, viewer, view)
    asked = {"ranking": ranking_query(view)}
    ranked = answer(request, "data_quality", asked["ranking"], scope=scope)
    names = ranked.get("labels", {}).get("institution.institution", {})
    rows = []
    for rank, cell in enumerate(ranked["cells"], start=1):
        row = {"rank": rank, "code": cell["institution.institution"], "suppressed": cell["suppressed"],
               "label": names.get(cell["institution.institution"]) or cell["institution.institution"],
               "values": {c.name: cell[c.name] for c in DIMENSIONS[view.dimension]}}
        if view.dimension == "consistency":
            row["values"][GAP] = _gap(cell)
        rows.append(row)
    result = {"month": view.month.strftime("%Y-%m"), "dimension": view.dimension, "rows": rows,
              "columns": [{"name": c.name, "unit": c.unit} for c in DIMENSIONS[view.dimension]]
              + ([{"name": GAP, "unit": "人次"}] if view.dimension == "consistency" else [])}
    if view.institution:
        drill = codes_queries(view)
        asked |= drill
        result["institution"] = view.institution
        result["findings"] = answer(request, "data_quality_findings", drill["findings"], scope=scope)["cells"]
        result["rejections"] = answer(request, "data_quality_rejections", drill["rejections"], scope=scope)["cells"]
        codes = [c["finding.code"] for c in result["findings"]] + [c["rejection.code"] for c in result["rejections"]]
        result["meanings"] = {code: code_message(code, viewer.lang) for code in codes}
    return {**result, "queries": asked}


page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api", route_class=HubErrorRoute, include_in_schema=False)


@page.get("/quality")
def quality_page(request: Request) -> Response:
    viewer = page_viewer(request, PAGE)
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        shown = figures(request, viewer)
    except HubError as refused:
        return render(request, "refused.html", viewer=viewer, current=PAGE, status_code=refused.spec.http_status,
                      reason="scope" if refused.code == "access.denied" else "invalid")
    return render(request, "quality.html", viewer=viewer, current=PAGE, shown=shown,
                  dimensions=list(DIMENSIONS))


@api.get("/quality")
async def quality_figures(request: Request, viewer: ApiViewer) -> dict:
    """The page's rows as JSON, within the viewer's scope."""
    return await run_in_threadpool(figures, request, viewer)


__all__ = ["DIMENSIONS", "View", "view_of", "ranking_query", "codes_queries", "figures", "page", "api"]
