"""JSON endpoints of drug traceability and recall (``/api/drugs``): batch trace, patients, recalls.

The trace (legs, holders, stock, dispensed counts) and the recalls are the bureau's; which patients
received a batch follows the record rules (``hub.workflows.drugs.trace``): a care provider sees its
own dispenses' patients identified, the bureau with an identified-access grant and a purpose all of
them, everyone else counts. An institution lists the recalls that notified it. SOAP has no natural
place for these yet (the records service reads one person's records): JSON only.
"""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ..records import access
from ..registry.access import role_of
from ..store.db import transaction
from ..workflows.drugs import recall, trace
from .bodies import read_json
from .deps import Member
from .errors import HubErrorRoute, RowId

router = APIRouter(prefix="/api/drugs", tags=["drugs"], route_class=HubErrorRoute)
MAX_BODY = 16 * 1024
MAX_CONFIRM_HOURS = 24 * 90


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bureau(session, member: str) -> None:
    if role_of(session, member) != "bureau":
        raise HubError("access.denied", "only the bureau traces batches and manages recalls")


@router.get("/batches/{batch}")
def batch_trace(request: Request, member: Member, batch: str, drug: str | None = None):
    """Where the batch went (legs over time), who holds it now, dispensed per institution (bureau only)."""
    with request.app.state.hub.sessions() as session:
        _bureau(session, member)
        return [trace.as_trace(book) for book in trace.ledgers(session, batch=batch, drug=drug)]


@router.get("/batches/{batch}/patients")
def batch_patients(request: Request, member: Member, batch: str, drug: str | None = None, purpose: str | None = None):
    """Which patients received the batch: identified where the record rules allow, counts otherwise."""
    sessions = request.app.state.hub.sessions
    with sessions() as session:
        requester = access.requester_for(session, member, now=utcnow())
        books = trace.ledgers(session, batch=batch, drug=drug)
    try:
        with transaction(sessions) as session:
            return [trace.patients(session, requester=requester, drug=book.drug, batch=batch, purpose=purpose,
                                   now=utcnow(), client_address=_client(request)) for book in books]
    except HubError as exc:
        if exc.code.startswith("access."):
            access.refused(sessions, requester=requester, error=exc, purpose=purpose, client_address=_client(request))
        raise


def _recall_body(body) -> tuple[str, str | None, str, timedelta]:
    if not isinstance(body, dict):
        raise HubError("request.invalid", "a JSON object", field="/")
    for name in ("batch", "reason"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise HubError("request.invalid", f"{name} is required", field=f"/{name}")
    if body.get("drug") is not None and not isinstance(body["drug"], str):
        raise HubError("request.invalid", "drug is text", field="/drug")
    hours = body.get("confirm_within_hours", recall.CONFIRM_WITHIN.total_seconds() / 3600)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= MAX_CONFIRM_HOURS:
        raise HubError("request.invalid", "hours, more than 0 and at most 90 days", field="/confirm_within_hours")
    return body["batch"].strip(), body.get("drug"), body["reason"], timedelta(hours=hours)


@router.post("/recalls")
async def create_recall(request: Request, member: Member):
    """Recall a batch (body: batch, reason, drug if ambiguous, confirm_within_hours; bureau only)."""
    batch, drug, reason, within = _recall_body(await read_json(request, limit=MAX_BODY))
    with transaction(request.app.state.hub.sessions) as session:
        _bureau(session, member)
        found = recall.flag(session, batch=batch, drug=drug, reason=reason, actor=member, now=utcnow(),
                            confirm_within=within, client_address=_client(request))
        return recall.as_dict(session, found)


@router.get("/recalls")
def list_recalls(request: Request, member: Member):
    """Recalls newest first: every one for the bureau, those that notified it for an institution."""
    with transaction(request.app.state.hub.sessions) as session:
        recall.sync(session, now=utcnow())  # confirmations are the replies' acknowledgements: read them now
        mine = None if role_of(session, member) == "bureau" else member
        return [_scoped(recall.as_dict(session, r), mine) for r in recall.list_recalls(session, institution=mine)]


def _scoped(found: dict, institution: str | None) -> dict:
    """An institution sees its own notice only, not the other institutions' figures."""
    if institution is not None:
        found["institutions"] = [n for n in found["institutions"] if n["institution"] == institution]
    return found


@router.get("/recalls/{recall_id}")
def get_recall(request: Request, member: Member, recall_id: RowId):
    """One recall with each institution's notice and confirmation (an institution: its own notice)."""
    with transaction(request.app.state.hub.sessions) as session:
        recall.sync(session, now=utcnow())
        found = recall.get_or_raise(session, recall_id=recall_id)
        mine = None if role_of(session, member) == "bureau" else member
        answer = _scoped(recall.as_dict(session, found), mine)
        if mine is not None and not answer["institutions"]:
            raise HubError("workflow.recall.not_found", "no such recall in the caller's scope")
        return answer


__all__ = ["router"]
