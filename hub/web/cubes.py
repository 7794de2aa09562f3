"""JSON cube queries for analysts: ``GET /api/cubes`` (the declarations) and
``POST /api/cubes/{cube}/query`` (a query -> cells), behind bearer tokens and region scoping.

The mart backend is ``request.app.state.mart`` (opened by the hub app). Errors are machine codes
from ``protocol.errors.FAULTS``; the query's values are never echoed back.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from olap.cubes import CubeError, Scope, describe_all, execute, parse_query
from olap.errors import BackendUnavailable, OlapError, ParameterError
from protocol.errors import HubError
from protocol.timestamps import utcnow

from .deps import Member
from .errors import HubErrorRoute, json_body
from .scope import scope_for

router = APIRouter(prefix="/api/cubes", tags=["analytics"], route_class=HubErrorRoute)
log = logging.getLogger(__name__)
CHINA_OFFSET = timedelta(hours=8)


def _mart(request: Request):
    mart = getattr(request.app.state, "mart", None)
    if mart is None:
        raise HubError("olap.unavailable", "no mart configured")
    return mart


@router.get("")
def cubes(_member: Member) -> dict:
    """Every cube's declaration: dimensions and levels, measures, indicators and their definitions."""
    return {"cubes": describe_all()}


QUERY_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


@router.post("/{cube}/query", openapi_extra=QUERY_BODY)
async def query(request: Request, member: Member, cube: str) -> dict:
    """The cells of one query (see docs/cubes.md), limited to the caller's region.

    The body is read here, after the bearer token was checked (``Member``): a refused caller is refused
    whatever it sent, and a body that is not JSON is ``request.not_json``, not a parsing error."""
    body = json_body(await request.body())
    return await run_in_threadpool(_answer, request, member, cube, body)


def _answer(request: Request, member: str, cube: str, body: Any) -> dict:
    with request.app.state.hub.sessions() as session:
        scope = scope_for(session, member)
    return answer(request, cube, body, scope=scope)


def answer(request: Request, cube: str, body: Any, *, scope: Scope) -> dict:
    """The cells of ``body`` on ``cube`` within ``scope``: what the cube API answers (the console asks here too)."""
    mart = _mart(request)
    try:
        parsed = parse_query(cube, body, today=(utcnow() + CHINA_OFFSET).date())
        return execute(mart, parsed, scope=scope)
    except CubeError as exc:
        raise HubError(exc.code, "cube query refused", field=exc.fields.get("field")) from None
    except BackendUnavailable as exc:  # the mart is down or gone: worth retrying later
        log.warning("cube query: mart unavailable (%s)", exc.code)
        raise HubError("olap.unavailable", exc.code) from None
    except ParameterError as exc:  # a value of the query the engine cannot take (not the mart's fault)
        raise HubError("cube.query.invalid", exc.code, field=exc.fields.get("field")) from None
    except OlapError as exc:  # the engine failed a validated query: the mart's or the hub's fault, not a pause
        log.error("cube query failed: %s %s", exc.code, exc.fields.get("engine_code", ""))
        raise HubError("server.error", exc.code) from None


__all__ = ["router", "answer"]
