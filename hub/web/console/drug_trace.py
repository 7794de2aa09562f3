"""The batch trace page (药品追溯): a drug code and a batch number → the chain of custody (supplier →
distributor → institution → patients) as a table and a flow, each holder's stock, dispensed counts per
institution, the expiry date and the batch's drug alerts; for operators, the button that starts a recall
(``recalls.py`` answers it).

Read through the drug workflow's functions (``hub.workflows.drugs.trace.ledgers`` as ``GET
/api/drugs/batches/{batch}``, cut to the viewer's scope by ``hub.workflows.drugs.scoped``): a district
analyst sees the holders of its districts and the holders outside named where the batch crossed the
boundary, an institution administrator its own institution's part. Patients are counts per institution
only: identified lists stay in ``/api/drugs/batches/{batch}/patients`` (a grant and a purpose).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...workflows.drugs import scoped
from ...workflows.drugs.trace import ledgers
from ...workflows.errors import WorkflowError
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer
from .i18n import code_message
from .pages import page_viewer, render, require
from .users import Role, scope_of

PAGE = "drug_trace"
Batch = Annotated[str, Query(min_length=1, max_length=64)]
Drug = Annotated[str | None, Query(max_length=32)]
# the refusals the trace and recall pages show, each as its code and its meaning in the page's language
SHOWN_CODES = ("workflow.drug.not_found", "workflow.recall.invalid", "workflow.recall.duplicate",
               "workflow.recall.unreached", "workflow.recall.not_found", "access.denied", "request.invalid")

page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/drug_trace", route_class=HubErrorRoute, include_in_schema=False)


def trace_scope(session, viewer: Viewer) -> scoped.TraceScope:
    """The holders ``viewer`` sees: the user's cube scope (its districts, or its own institution)."""
    return scoped.TraceScope.of(scope_of(session, viewer.user))


def may_recall(viewer: Viewer) -> bool:
    """Recalls are started by the bureau's operators only (as ``POST /api/drugs/recalls`` by the bureau)."""
    return viewer.user.role is Role.OPERATOR


def meanings(lang: str) -> dict[str, str]:
    return {code: code_message(code, lang) for code in SHOWN_CODES}


def read_trace(request: Request, viewer: Viewer, *, batch: str, drug: str | None) -> dict:
    """The batch in the viewer's scope, per drug the number is known under: the trace and its alerts.
    A batch that never touched the scope is answered as an unknown one (``workflow.drug.not_found``)."""
    with request.app.state.hub.sessions() as session:
        scope = trace_scope(session, viewer)
        drugs = []
        for book in ledgers(session, batch=batch, drug=drug):
            shown = scoped.trace(session, book, scope)
            if shown is not None:
                drugs.append({**shown, "alerts": scoped.anomalies(session, book, scope)})
    if not drugs:
        raise WorkflowError("workflow.drug.not_found", "no movement or dispense of the batch in the viewer's scope")
    return {"batch": batch, "drugs": drugs, "may_recall": may_recall(viewer)}


@page.get("/drugs/trace")
def trace_page(request: Request) -> Response:
    viewer = page_viewer(request, PAGE)
    if not isinstance(viewer, Viewer):
        return viewer
    params = request.query_params
    return render(request, "drug_trace.html", viewer=viewer, current=PAGE, may_recall=may_recall(viewer),
                  batch=params.get("batch", "")[:64], drug=params.get("drug", "")[:32], meanings=meanings(viewer.lang))


@api.get("")
async def batch_trace(request: Request, viewer: ApiViewer, batch: Batch, drug: Drug = None) -> dict:
    """``{"batch", "drugs": [trace within the scope + "alerts"], "may_recall"}``."""
    require(viewer, PAGE)
    return await run_in_threadpool(read_trace, request, viewer, batch=batch.strip(), drug=(drug or "").strip() or None)


__all__ = ["page", "api", "trace_scope", "may_recall", "meanings", "read_trace", "SHOWN_CODES"]
