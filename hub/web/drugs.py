"""JSON endpoints of drug traceability and recall (``/api/drugs``): batch trace, patients, recalls.

Every answer is cut to the caller's scope (``hub.web.scope``) by ``hub.workflows.drugs.scoped``, as the
console cuts its pages: a city bureau sees every holder, a district bureau the holders of its districts,
any other member its own institution; holders outside are named only where the batch crossed into or
out of the scope, without their figures. A batch that never touched the caller's scope (never
received, held, passed on or dispensed there) is answered as an unknown one (``workflow.drug.not_found``).
Which patients received a batch follows the record rules (``hub.workflows.drugs.trace``) within that
scope: a care provider sees its own dispenses' patients identified, the bureau with an identified-access
grant and a purpose those of its districts, everyone else counts; every refused read is audited. Recalls
are started by the bureau (a district bureau for a batch of its districts); each caller lists the notices
of its scope. SOAP has no natural place for these yet (the records service reads one person's records):
JSON only.
"""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ..records import access
from ..registry.access import role_of
from ..store.db import transaction
from ..workflows.drugs import recall, scoped, trace
from ..workflows.drugs.ledger import BatchLedger
from ..workflows.errors import WorkflowError
from .bodies import read_json
from .deps import Member
from .errors import HubErrorRoute, RowId
from .scope import scope_for

router = APIRouter(prefix="/api/drugs", tags=["drugs"], route_class=HubErrorRoute)
MAX_BODY = 16 * 1024
MAX_CONFIRM_HOURS = 24 * 90


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bureau(session, member: str) -> None:
    if role_of(session, member) != "bureau":
        raise HubError("access.denied", "only the bureau manages recalls")


def _scope(session, member: str) -> scoped.TraceScope:
    """The holders ``member`` sees: its cube scope, as the console's users see theirs."""
    return scoped.TraceScope.of(scope_for(session, member))


def _in_scope(session, scope: scoped.TraceScope, *, batch: str, drug: str | None
              ) -> list[tuple[BatchLedger, frozenset[str]]]:
    """Each ledger of the batch that touched ``scope``, with the institutions of ``scope`` in it; an
    unknown batch, or one that never touched the scope, is ``workflow.drug.not_found`` alike."""
    books = [(book, scoped.inside(session, book, scope)) for book in trace.ledgers(session, batch=batch, drug=drug)]
    books = [(book, inside) for book, inside in books if inside]
    if not books:
        raise WorkflowError("workflow.drug.not_found", "no movement or dispense names this batch")
    return books


@router.get("/batches/{batch}")
def batch_trace(request: Request, member: Member, batch: str, drug: str | None = None):
    """Where the batch went (legs over time), who holds it now, dispensed per institution: the caller's scope."""
    with request.app.state.hub.sessions() as session:
        scope = _scope(session, member)
        return [scoped.trace(session, book, scope) for book, _ in _in_scope(session, scope, batch=batch, drug=drug)]


@router.get("/batches/{batch}/patients")
def batch_patients(request: Request, member: Member, batch: str, drug: str | None = None, purpose: str | None = None):
    """Which patients of the caller's scope received the batch: identified where the rules allow, else counts."""
    sessions = request.app.state.hub.sessions
    with sessions() as session:
        requester = access.requester_for(session, member, now=utcnow())
        scope = _scope(session, member)
    try:
        with transaction(sessions) as session:
            return [trace.patients(session, requester=requester, drug=book.drug, batch=batch, purpose=purpose,
                                   now=utcnow(), client_address=_client(request),
                                   institutions=None if scope.whole else inside)
                    for book, inside in _in_scope(session, scope, batch=batch, drug=drug)]
    except HubError as exc:  # refused: no grant, or a batch outside the caller's scope (or unknown)
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


def _touches(session, scope: scoped.TraceScope, *, batch: str, drug: str | None) -> bool:
    try:
        return bool(_in_scope(session, scope, batch=batch, drug=drug))
    except WorkflowError:
        return False


@router.post("/recalls")
async def create_recall(request: Request, member: Member):
    """Recall a batch (body: batch, reason, drug if ambiguous, confirm_within_hours; the bureau, for a batch
    of its districts); the recall with the notices of its districts."""
    batch, drug, reason, within = _recall_body(await read_json(request, limit=MAX_BODY))
    with transaction(request.app.state.hub.sessions) as session:
        _bureau(session, member)
        scope, now = _scope(session, member), utcnow()
        if not scope.whole and not _touches(session, scope, batch=batch, drug=drug):  # as an unknown batch
            raise WorkflowError("workflow.recall.invalid", "no movement or dispense names this batch", field="batch")
        found = recall.flag(session, batch=batch, drug=drug, reason=reason, actor=member, now=now,
                            confirm_within=within, client_address=_client(request))
        return scoped.recall_view(session, found, scope, now=now, empty=True)


@router.get("/recalls")
def list_recalls(request: Request, member: Member):
    """Recalls newest first with the notices of the caller's scope (its own, for an institution); a recall
    that notified no one there is left out."""
    with transaction(request.app.state.hub.sessions) as session:
        now = utcnow()
        recall.sync(session, now=now)  # confirmations are the replies' acknowledgements: read them now
        return scoped.recall_list(session, _scope(session, member), now=now)


@router.get("/recalls/{recall_id}")
def get_recall(request: Request, member: Member, recall_id: RowId):
    """One recall with the notices and confirmations of the caller's scope."""
    with transaction(request.app.state.hub.sessions) as session:
        now = utcnow()
        recall.sync(session, now=now)
        answer = scoped.recall_view(session, recall.get_or_raise(session, recall_id=recall_id),
                                    _scope(session, member), now=now)
        if answer is None:
            raise HubError("workflow.recall.not_found", "no such recall in the caller's scope")
        return answer


__all__ = ["router"]
