"""JSON cube queries for analysts: ``GET /api/cubes`` (the declarations) and
``POST /api/cubes/{cube}/query`` (a query -> cells), behind bearer tokens and region scoping.

The mart backend is ``request.app.state.mart`` (opened by the hub app). Errors are machine codes
from ``protocol.errors.FAULTS``; the query's values are never echoed back.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Body, Request

from olap.cubes import CubeError, describe_all, execute, parse_query
from olap.errors import OlapError
from protocol.errors import HubError
from protocol.timestamps import utcnow

from .deps import HubErrorRoute, bearer_member
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
def cubes(request: Request) -> dict:
    """Every cube's declaration: dimensions and levels, measures, indicators and their definitions."""
    bearer_member(request)
    return {"cubes": describe_all()}


@router.post("/{cube}/query")
def query(request: Request, cube: str, body: Any = Body(None)) -> dict:
    """The cells of one query (see docs/cubes.md), limited to the caller's region."""
    member = bearer_member(request)
    with request.app.state.hub.sessions() as session:
        scope = scope_for(session, member)
    mart = _mart(request)
    try:
        parsed = parse_query(cube, body, today=(utcnow() + CHINA_OFFSET).date())
        return execute(mart, parsed, scope=scope)
    except CubeError as exc:
        raise HubError(exc.code, "cube query refused", field=exc.fields.get("field")) from None
    except OlapError as exc:
        log.warning("cube query failed: %s", exc.code)
        raise HubError("olap.unavailable", exc.code) from None


__all__ = ["router"]
