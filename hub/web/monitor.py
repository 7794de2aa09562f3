"""``/api/monitor/…``: the exchange monitor's JSON (hub.monitor) for a member's bearer token.

Scope as the cube API's (``hub.web.scope.scope_for``): a bureau watches the members registered in
its region's districts (all members when it governs every district), any other member only
itself. A message outside the caller's scope is answered exactly as an unknown one
(``exchange.message.not_found``): the API tells no one which MessageIDs exist elsewhere.
Parameters: times are ISO 8601 with their offset; a period's span is bounded by its grain
(``hub.monitor.MAX_SPAN``); the default period is the last 24 hours.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.orm import Session

from protocol.errors import HubError

from .. import monitor
from ..monitor import Grain, MemberScope
from ..monitor.periods import asked_period
from ..registry.access import role_of
from .deps import Member
from .errors import HubErrorRoute
from .scope import scope_for

router = APIRouter(prefix="/api/monitor", tags=["monitor"], route_class=HubErrorRoute)
DEFAULT_PERIOD = timedelta(hours=24)
JOURNEY_PERIOD = timedelta(days=7)  # how far back refusals (stored nowhere but the audit) are looked for
Since = Annotated[datetime | None, Query(description="start, ISO 8601 with offset (default: until − 24 h)")]
Until = Annotated[datetime | None, Query(description="end, exclusive (default: now)")]


def member_scope(session: Session, member: str) -> MemberScope:
    """The members ``member`` may watch (None: all), from its cube scope."""
    scope = scope_for(session, member)
    return monitor.members_in(session, districts=scope.districts, institutions=scope.institutions)


def _period(since: datetime | None, until: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    return asked_period(since, until, default=default, now=datetime.now(timezone.utc))


def _read(request: Request, member: str, read):
    with request.app.state.hub.sessions() as session:
        return read(session, member_scope(session, member))


@router.get("/traffic")
def traffic(request: Request, member: Member, since: Since = None, until: Until = None, grain: Grain = Grain.HOUR):
    """Messages per member and hour (or local day): received, accepted, refused, processed, rejected, pending."""
    since, until = _period(since, until, DEFAULT_PERIOD)

    def read(session, scope):
        rows = monitor.traffic(session, scope=scope, since=since, until=until, grain=grain)
        return {"since": since.isoformat(), "until": until.isoformat(), "grain": grain.value, "rows": rows,
                "totals": monitor.totals(rows)}
    return _read(request, member, read)


@router.get("/rejections")
def rejections(request: Request, member: Member, since: Since = None, until: Until = None):
    """Refusals (gate, intake) and rejections (processing) by code, with the fault table's meaning."""
    since, until = _period(since, until, DEFAULT_PERIOD)
    return _read(request, member, lambda session, scope: {
        "since": since.isoformat(), "until": until.isoformat(),
        "rejections": monitor.rejections(session, scope=scope, since=since, until=until)})


@router.get("/silent")
def silent(request: Request, member: Member,
           quiet_hours: Annotated[float, Query(gt=0, le=24 * 92, description="silent after this many hours")] = 24):
    """Active care providers in scope that sent nothing for ``quiet_hours`` (or never)."""
    now = datetime.now(timezone.utc)
    return _read(request, member, lambda session, scope: {
        "now": now.isoformat(), "quiet_hours": quiet_hours,
        "members": monitor.silent_members(session, scope=scope, now=now, quiet_for=timedelta(hours=quiet_hours))})


@router.get("/backlog")
def backlog(request: Request, member: Member):
    """Messages accepted and awaiting processing: how many, the oldest's age, per member."""
    now = datetime.now(timezone.utc)
    return _read(request, member, lambda session, scope: {"now": now.isoformat(),
                                                          **monitor.backlog(session, now=now, scope=scope)})


@router.get("/etl")
def etl(request: Request, member: Member, limit: Annotated[int, Query(ge=1, le=200)] = 20):
    """The latest ETL runs and the change feeds' lag: the hub's own bookkeeping, for bureaus."""
    with request.app.state.hub.sessions() as session:
        if role_of(session, member) != "bureau":
            raise HubError("access.denied", "ETL runs are shown to bureaus")
        return monitor.etl_runs(session, limit=limit, now=datetime.now(timezone.utc))


@router.get("/journey/{message_id}")
def journey(request: Request, member: Member, message_id: Annotated[str, Path(min_length=1, max_length=200)],
            of: Annotated[str | None, Query(alias="member", max_length=64, description="the sending member")] = None,
            since: Since = None, until: Until = None):
    """The message's way through the hub: ids, digests, times, statuses and codes; never its content."""
    since, until = _period(since, until, JOURNEY_PERIOD)
    found = _read(request, member, lambda session, scope: monitor.journey(
        session, message_id=message_id, scope=scope, member=of, since=since, until=until))
    if not found:
        raise HubError("exchange.message.not_found", "no such message in the caller's scope")
    return {"message_id": message_id, "journeys": found}


__all__ = ["router", "member_scope"]
