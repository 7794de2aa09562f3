"""JSON endpoints of the workflows: alerts (``/api/alerts``) and, for the bureau, subscriptions.

Alerts are scoped as the cube API scopes callers (``hub.web.scope``): a bureau sees the districts it
governs (a city bureau every district), any other member only the alerts of its own institution.
A bureau may acknowledge or close any alert it sees, any other member only the alerts it owns
(``AlertScope.may_move``): an institution that an alert is only about reads it (``workflow.alert.denied``
for a move, audited as ``alert.reject``). Each move is in the alert's history and audited.
Subscriptions over JSON are the bureau's (for any member); members manage their own over SOAP.
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ..registry.access import role_of
from ..store.db import transaction
from ..workflows import alerts, subscriptions
from ..workflows.models import AlertState
from .bodies import read_json
from .deps import Member
from .errors import HubErrorRoute, RowId, error_response
from .scope import scope_for

router = APIRouter(prefix="/api", tags=["workflows"], route_class=HubErrorRoute)
MAX_BODY = 16 * 1024


def _scope(session, member: str) -> alerts.AlertScope:
    scope = scope_for(session, member)
    return alerts.AlertScope(districts=scope.districts, institutions=scope.institutions)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/alerts")
def list_alerts(request: Request, member: Member, state: AlertState | None = None, kind: str | None = None,
                district: str | None = None):
    """Alerts in the caller's scope, newest first (filters: state, kind, district)."""
    with request.app.state.hub.sessions() as session:
        found = alerts.list_alerts(session, scope=_scope(session, member), state=state.value if state else None,
                                   kind=kind, district=district)
        return [alerts.as_dict(alert) for alert in found]


@router.get("/alerts/{alert_id}")
def get_alert(request: Request, member: Member, alert_id: RowId):
    """One alert in the caller's scope, with its history."""
    with request.app.state.hub.sessions() as session:
        alert = session.get(alerts.Alert, alert_id)
        if alert is None or not _scope(session, member).sees(alert):
            return error_response(HubError("workflow.alert.not_found"))
        return alerts.as_dict(alert, alerts.history(session, alert_id))


async def _move(request: Request, member: str, alert_id: int, to: AlertState):
    body = await read_json(request, limit=MAX_BODY)
    note = body.get("note") if isinstance(body, dict) else None
    if note is not None and not isinstance(note, str):
        raise HubError("request.invalid", "note is text", field="/note")
    try:
        with transaction(request.app.state.hub.sessions) as session:
            alert = alerts.move(session, alert_id=alert_id, to=to, actor=member, now=utcnow(), note=note,
                                scope=_scope(session, member))
            return alerts.as_dict(alert, alerts.history(session, alert_id))
    except HubError as refused:
        if refused.code in alerts.AUDITED_REFUSALS:
            alerts.audit_refusal(request.app.state.hub.sessions, code=refused.code, actor=member, alert_id=alert_id,
                                 client_address=_client(request))
        raise


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, member: Member, alert_id: RowId):
    """Acknowledge an open alert (body: ``{"note": "…"}``, optional)."""
    return await _move(request, member, alert_id, AlertState.ACKNOWLEDGED)


@router.post("/alerts/{alert_id}/close")
async def close(request: Request, member: Member, alert_id: RowId):
    """Close an open or acknowledged alert (body: ``{"note": "…"}``, optional)."""
    return await _move(request, member, alert_id, AlertState.CLOSED)


def _bureau(session, member: str) -> None:
    if role_of(session, member) != "bureau":
        raise HubError("access.denied", "only the bureau manages subscriptions here")


@router.get("/subscriptions")
def list_subscriptions(request: Request, member: Member, of: str | None = None):
    """Every subscription, or those of member ``of`` (bureau only)."""
    with request.app.state.hub.sessions() as session:
        _bureau(session, member)
        return [subscriptions.as_dict(row) for row in subscriptions.list_for(session, member=of)]


async def _subscription_body(request: Request) -> tuple[str, str, str | None]:
    body = await read_json(request, limit=MAX_BODY)
    if not isinstance(body, dict):
        raise HubError("request.invalid", "a JSON object", field="/")
    for name in ("member", "topic"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise HubError("request.invalid", f"{name} is required", field=f"/{name}")
    if body.get("filter") is not None and not isinstance(body["filter"], str):
        raise HubError("request.invalid", "filter is text", field="/filter")
    return body["member"], body["topic"], body.get("filter")


@router.post("/subscriptions")
async def subscribe(request: Request, member: Member):
    """Subscribe a member to a topic (body: member, topic, filter; bureau only)."""
    subscriber, topic, filter = await _subscription_body(request)
    try:
        with transaction(request.app.state.hub.sessions) as session:
            _bureau(session, member)
            row = subscriptions.subscribe(session, member=subscriber, topic=topic, filter=filter, actor=member,
                                          now=utcnow(), client_address=_client(request))
            return subscriptions.as_dict(row)
    except HubError as refused:
        if refused.code == "workflow.subscription.scope":  # as the SOAP gate audits the member's own attempt
            subscriptions.audit_refusal(request.app.state.hub.sessions, code=refused.code, actor=member,
                                        member=subscriber, topic=topic, client_address=_client(request))
        raise


@router.post("/subscriptions/remove")
async def unsubscribe(request: Request, member: Member):
    """Remove a member's subscription (body: member, topic, filter; bureau only)."""
    subscriber, topic, filter = await _subscription_body(request)
    with transaction(request.app.state.hub.sessions) as session:
        _bureau(session, member)
        removed = subscriptions.unsubscribe(session, member=subscriber, topic=topic, filter=filter, actor=member,
                                            client_address=_client(request))
        return {"removed": removed}


__all__ = ["router"]
