"""JSON cube queries for analysts: ``GET /api/cubes`` (the declarations),
``POST /api/cubes/{cube}/query`` (a query -> cells) and ``POST /api/cubes/{cube}/export`` (the same
query as a CSV or XLSX pivot), behind bearer tokens and region scoping.

The mart backend is ``request.app.state.mart`` (opened by the hub app). Errors are machine codes
from ``protocol.errors.FAULTS``; the query's values are never echoed back.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Iterator
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from olap.cubes import CubeError, Pivot, Scope, build_pivot, describe_all, execute, parse_layout, parse_query
from olap.cubes.execute import level_names
from olap.cubes.export import FORMATS, MEDIA_TYPES, About, filenames, render
from olap.errors import BackendUnavailable, OlapError, ParameterError
from protocol.errors import HubError
from protocol.timestamps import utcnow

from .. import audit
from ..store.db import transaction
from .answer_cache import AnswerCache, LabelCache, mart_generation
from .deps import Member
from .bodies import read_json
from .errors import HubErrorRoute
from .scope import scope_for

router = APIRouter(prefix="/api/cubes", tags=["analytics"], route_class=HubErrorRoute)
log = logging.getLogger(__name__)
CHINA_OFFSET = timedelta(hours=8)
_CACHE_LOCK = threading.Lock()
# A query or export body: a filter of the most members a query takes (1,000) is ≈ 20 KB, so a megabyte
# holds any body the cube parses; a larger one is refused unread (``transport.too_large``).
MAX_QUERY_BYTES = 1024 * 1024


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
    body = await read_json(request, limit=MAX_QUERY_BYTES)
    return await run_in_threadpool(_answer, request, member, cube, body)


def _answer(request: Request, member: str, cube: str, body: Any) -> dict:
    with request.app.state.hub.sessions() as session:
        scope = scope_for(session, member)
    return answer(request, cube, body, scope=scope)


def answer(request: Request, cube: str, body: Any, *, scope: Scope) -> dict:
    """The cells of ``body`` on ``cube`` within ``scope``: what the cube API answers (the console asks here too).

    Kept between ETL runs (:mod:`hub.web.answer_cache`): keyed by cube, parsed query, scope and the
    latest finished ETL run's id."""
    mart = _mart(request)
    with _refusals():
        parsed = parse_query(cube, body, today=(utcnow() + CHINA_OFFSET).date())
        with request.app.state.hub.sessions() as session:
            generation = mart_generation(session)
        names = _label_cache(request)

        def label(level: str, codes: list[str]) -> dict[str, str]:
            return names.names(level, codes, generation=generation, fetch=lambda asked: level_names(mart, level, asked))
        return answers(request).get_or_compute((cube, parsed, scope), generation=generation,
                                               compute=lambda: execute(mart, parsed, scope=scope, names=label))


def answers(request: Request) -> AnswerCache:
    """The web process's answer cache (made on first use, one per app)."""
    state = request.app.state
    cache = getattr(state, "answer_cache", None)
    if cache is None:
        with _CACHE_LOCK:
            cache = getattr(state, "answer_cache", None)
            if cache is None:
                cache = state.answer_cache = AnswerCache()
    return cache


def _label_cache(request: Request) -> LabelCache:
    """The web process's names of level codes, kept per mart generation (made on first use)."""
    state = request.app.state
    with _CACHE_LOCK:
        if getattr(state, "label_cache", None) is None:
            state.label_cache = LabelCache()
        return state.label_cache


@contextmanager
def _refusals() -> Iterator[None]:
    """The cube layer's errors as the API's codes (never the engine's text)."""
    try:
        yield
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


@router.post("/{cube}/export", openapi_extra=QUERY_BODY, response_class=Response,
             responses={200: {"content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}}}})
async def export(request: Request, member: Member, cube: str,
                 fmt: Annotated[str, Query(alias="format")] = "csv") -> Response:
    """The query's cells as a pivot file (``format=csv|xlsx``): the /query body plus ``rows`` and
    ``columns`` (levels splitting ``group_by``); the caller's scope and suppression apply as in /query,
    totals included. Audited (``cube.export``: member, cube and format; no data)."""
    if fmt not in FORMATS:
        raise HubError("cube.export.format", "export format is csv or xlsx", field="/format")
    body = await read_json(request, limit=MAX_QUERY_BYTES)
    return await run_in_threadpool(_export, request, member, cube, fmt, body)


def _export(request: Request, member: str, cube: str, fmt: str, body: Any) -> Response:
    with request.app.state.hub.sessions() as session:
        scope = scope_for(session, member)
    return export_pivot(request, cube, body, fmt=fmt, scope=scope, member=member)


def china_now() -> datetime:
    """Now in China time (the files say it as such; relative periods resolve against its date)."""
    return utcnow().astimezone(timezone(CHINA_OFFSET))


def pivot(request: Request, cube: str, body: Any, *, scope: Scope, today: date | None = None) -> Pivot:
    """The pivot of an export body (the /query body plus ``rows`` and ``columns``) on ``cube`` within
    ``scope``, totals protected: what the export writes, and what the console's pivot page shows."""
    mart = _mart(request)
    with _refusals():
        query_body, rows, columns = parse_layout(body)
        parsed = parse_query(cube, query_body, today=today or china_now().date())
        return build_pivot(lambda asked: execute(mart, asked, scope=scope), parsed, rows=rows, columns=columns)


def export_pivot(request: Request, cube: str, body: Any, *, fmt: str, scope: Scope, member: str) -> Response:
    """The pivot of ``body`` as a CSV or XLSX download, audited (``cube.export``: ``member``, cube and
    format; no data). The cube API's export and the console's call this one function."""
    if fmt not in FORMATS:
        raise HubError("cube.export.format", "export format is csv or xlsx", field="/format")
    now = china_now()
    table = pivot(request, cube, body, scope=scope, today=now.date())
    with _refusals():
        content = render(table, fmt, about=About(scope=_scope_words(scope), generated_at=now, member=member))
    with transaction(request.app.state.hub.sessions) as session:  # who exported what, never the data
        audit.record(session, "cube.export", member=member, detail=f"{table.query.cube}.{fmt}",
                     client_address=request.client.host if request.client else None)
    plain, named = filenames(table, fmt, generated_at=now)
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(named)}"
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


def _scope_words(scope: Scope) -> str:
    """The caller's scope in words for the file's 说明 sheet."""
    if scope.institutions is not None:
        return "本机构：" + ("、".join(sorted(scope.institutions)) or "无")
    if scope.districts is not None:
        return "区县：" + ("、".join(sorted(scope.districts)) or "无")
    return "全部区县（不限范围）"


__all__ = ["router", "answer", "answers", "pivot", "export_pivot", "china_now", "CHINA_OFFSET"]
