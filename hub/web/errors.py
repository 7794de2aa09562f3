"""Every JSON API error is a machine code and one human line, with the code's HTTP status.

``{"code": …, "message": …, "field": …}``: the message is the fault table's fixed wording
(``protocol.errors.FAULTS``), the field a JSON pointer to the part at fault; nothing of the request is
echoed (FastAPI's own 422 body quotes the input, which may be personal data). Routes render through
:class:`HubErrorRoute`; :func:`install` registers the same rendering on the app for whatever happens
outside them (``create_app`` calls it), and for Starlette's own routing answers: an unknown path is
``request.not_found`` (404), a method the path does not take ``request.method`` (405, its ``Allow``
header kept), on the API, the console and the static files alike. An unexpected exception is
``server.error`` (500), logged by type and place only (``hub.errors.failure_summary``): its message
may quote data.
"""
from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Callable

from fastapi import FastAPI, Path, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from protocol.errors import HubError

from ..errors import failure_summary

log = logging.getLogger("hub.web")
RETRY_AFTER_S = 30  # for 503s: the mart or the database is back soon, or the operators are told
ROUTING_CODES = {404: "request.not_found", 405: "request.method"}  # what Starlette's router and StaticFiles raise
MAX_ROW_ID = 2**63 - 1  # a BIGINT: a larger id names no row (and overflows the database driver)
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]  # a path parameter that names a database row


def error_response(exc: HubError) -> JSONResponse:
    """A JSON error from the code's registered status and message (never the input)."""
    body = {"code": exc.code, "message": exc.message}
    field = getattr(exc, "field", None) or exc.fields.get("field")
    if field:
        body["field"] = field
    status = exc.spec.http_status
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


def request_error(exc: RequestValidationError) -> HubError:
    """FastAPI's parsing errors as hub codes: a body that is not JSON, or the first field at fault."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return HubError("request.not_json", "body is not JSON")
    location = [str(part) for part in first.get("loc", ())]
    field = "/" + "/".join(location[1:]) if len(location) > 1 else None  # ("query", "limit") → /limit
    return HubError("request.invalid", f"{first.get('type', 'invalid')} in {location[0] if location else 'request'}",
                    field=field)


def routing_error(exc: HTTPException) -> HubError | None:
    """Starlette's 404 and 405 as hub codes (None for any other status: no route of the hub raises one)."""
    code = ROUTING_CODES.get(exc.status_code)
    return HubError(code, "no route answers this request") if code is not None else None


def json_body(raw: bytes) -> Any:
    """A request body parsed as JSON (empty: None); ``request.not_json`` otherwise."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise HubError("request.not_json", "body is not JSON") from None


def unexpected_response(exc: BaseException, request: Request | None = None) -> JSONResponse:
    """``server.error`` for a bug; the log says where, never what (no message, no request data)."""
    where = f"{request.method} {request.scope.get('route').path}" if request is not None and \
        request.scope.get("route") is not None else "request"
    log.error("%s failed: %s", where, failure_summary(exc))
    return error_response(HubError("server.error", type(exc).__name__))


class HubErrorRoute(APIRoute):
    """Renders every failure of a route as a code: HubError, FastAPI's parsing errors, store failures, bugs."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handler(request)
            except HubError as exc:
                return error_response(exc)
            except RequestValidationError as exc:
                return error_response(request_error(exc))
            except SQLAlchemyError as exc:  # logged without its message: it may quote values
                log.error("database read failed: %s", failure_summary(exc))
                return error_response(HubError("server.unavailable", "database read failed"))
            except HTTPException:
                raise  # an answer on purpose (Starlette renders it), not a bug
            except Exception as exc:  # noqa: BLE001 - a bug still answers one JSON line
                return unexpected_response(exc, request)
        return route


class UnexpectedErrors:
    """ASGI middleware: a bug outside :class:`HubErrorRoute` still answers ``server.error`` in JSON.

    Not an ``Exception`` handler: Starlette re-raises after those, and the server then logs the
    traceback with the exception's message, which may quote data."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - the point: one JSON line, not a traceback in the log
            if started:  # too late for an answer of our own: the server closes the connection
                log.error("response failed after it started: %s", failure_summary(exc))
                return
            await unexpected_response(exc, Request(scope))(scope, receive, send)


def install(app: FastAPI) -> None:
    """The same rendering for what escapes the routes (routers without :class:`HubErrorRoute`)."""

    async def hub_error(_request: Request, exc: HubError) -> JSONResponse:
        return error_response(exc)

    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request_error(exc))

    async def routing(request: Request, exc: HTTPException):
        error = routing_error(exc)
        if error is None:
            return await http_exception_handler(request, exc)
        response = error_response(error)
        response.headers.update(exc.headers or {})  # a 405's Allow
        return response

    app.add_exception_handler(HubError, hub_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, routing)
    app.add_middleware(UnexpectedErrors)


__all__ = ["HubErrorRoute", "UnexpectedErrors", "RowId", "MAX_ROW_ID", "error_response", "request_error",
           "routing_error", "json_body",
           "unexpected_response", "install"]
