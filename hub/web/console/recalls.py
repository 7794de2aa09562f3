"""The recalls page (召回): each recall (batch, drug, reason, started when and by whom, deadline) with its
institutions' acknowledgement (confirmed when, pending, overdue) and progress; and the endpoint the
trace page's recall button posts to.

A recall is started by an operator only, with the session's CSRF token, through the very function of
``hie drugs recall`` and ``POST /api/drugs/recalls`` (``hub.workflows.drugs.recall.flag``; audited
``recall.create`` with the actor ``console:<username>``), and only for a batch within the operator's
scope. Confirmations are the institutions' acknowledgements of their recall replies, read
(``recall.sync``) on every listing, as ``GET /api/drugs/recalls`` does. Each viewer sees the lines of
the institutions in its scope (``hub.workflows.drugs.scoped.recall_list``): an institution administrator
the recalls that notified its institution, and its own line only.
"""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ...store.db import transaction
from ...workflows.drugs import recall, scoped
from ...workflows.drugs.trace import ledgers
from ...workflows.errors import WorkflowError
from ..bodies import read_json
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer, csrf_ok
from .drug_trace import may_recall, meanings, trace_scope
from .pages import page_viewer, render, require

PAGE = "recalls"
MAX_BODY = 4096  # batch, drug, reason (at most 500 characters) and the hours
MAX_CONFIRM_HOURS = 24 * 90  # as POST /api/drugs/recalls

page = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/console/api/recalls", route_class=HubErrorRoute, include_in_schema=False)


def _text(body: dict, name: str, *, required: bool = True, limit: int = 64) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise HubError("request.invalid", f"{name}: text of at most {limit} characters", field=f"/{name}")
    return value.strip()


def recall_body(body) -> tuple[str, str | None, str, timedelta]:
    """(batch, drug, reason, confirm within) of the posted recall; ``request.invalid`` with the field."""
    if not isinstance(body, dict):
        raise HubError("request.invalid", "a JSON object", field="/")
    hours = body.get("confirm_within_hours", recall.CONFIRM_WITHIN.total_seconds() / 3600)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= MAX_CONFIRM_HOURS:
        raise HubError("request.invalid", "hours, more than 0 and at most 90 days", field="/confirm_within_hours")
    return (_text(body, "batch"), _text(body, "drug", required=False, limit=32),
            _text(body, "reason", limit=recall.MAX_REASON), timedelta(hours=hours))


def start_recall(request: Request, viewer: Viewer, body: dict) -> dict:
    """Flag the batch for the operator (the same ``recall.flag`` as the CLI and the JSON API)."""
    batch, drug, reason, within = recall_body(body)
    with transaction(request.app.state.hub.sessions) as session:
        scope = trace_scope(session, viewer)
        books = ledgers(session, batch=batch, drug=drug)  # workflow.drug.not_found for an unknown batch
        if not any(scoped.trace(session, book, scope) is not None for book in books):
            raise WorkflowError("workflow.drug.not_found", "the batch never reached the operator's scope")
        found = recall.flag(session, batch=batch, drug=drug, reason=reason, actor=f"console:{viewer.user.username}",
                            now=utcnow(), confirm_within=within, refuse_duplicate=True,
                            client_address=request.client.host if request.client else None)
        return {"id": found.id, "drug": found.drug_code, "batch": found.batch_number}  # its lines: on the list


def read_recalls(request: Request, viewer: Viewer) -> list[dict]:
    with transaction(request.app.state.hub.sessions) as session:
        now = utcnow()
        recall.sync(session, now=now)  # confirmations are the replies' acknowledgements: read them now
        return scoped.recall_list(session, trace_scope(session, viewer), now=now)


@page.get("/drugs/recalls")
def recalls_page(request: Request) -> Response:
    viewer = page_viewer(request, PAGE)
    if not isinstance(viewer, Viewer):
        return viewer
    return render(request, "recalls.html", viewer=viewer, current=PAGE, may_recall=may_recall(viewer),
                  meanings=meanings(viewer.lang))


@api.get("")
async def list_recalls(request: Request, viewer: ApiViewer) -> dict:
    """``{"recalls": [recall with its lines in the viewer's scope, each "overdue"; "progress"]}``."""
    require(viewer, PAGE)
    return {"recalls": await run_in_threadpool(read_recalls, request, viewer)}


@api.post("")
async def create_recall(request: Request, viewer: ApiViewer) -> dict:
    """Start a recall (operators; CSRF checked before the body is read): ``{"id", "drug", "batch"}``."""
    if not csrf_ok(request, {}, viewer.csrf_token):
        raise HubError("access.denied", "no valid CSRF token")
    if not may_recall(viewer):
        raise HubError("access.denied", "only the bureau's operators start recalls")
    body = await read_json(request, limit=MAX_BODY)
    return await run_in_threadpool(start_recall, request, viewer, body)


__all__ = ["page", "api", "recall_body", "start_recall", "read_recalls"]
