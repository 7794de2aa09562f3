"""Shared pieces of the JSON endpoints: errors rendered from machine codes, the caller's identity."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ..errors import failure_summary


def error_response(exc: HubError) -> JSONResponse:
    """A JSON error from the code's registered status and message (never the input)."""
    body = {"code": exc.code, "message": exc.message}
    field = getattr(exc, "field", None) or exc.fields.get("field")
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=exc.spec.http_status)


log = logging.getLogger(__name__)


def _pointer(exc: RequestValidationError) -> str | None:
    errors = exc.errors()
    location = errors[0].get("loc", ()) if errors else ()
    return "/" + str(location[-1]) if location else None


class HubErrorRoute(APIRoute):
    """Renders HubError (and store failures) per route: FastAPI's own 422 body would quote the input."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handler(request)
            except HubError as exc:
                return error_response(exc)
            except RequestValidationError as exc:
                return error_response(HubError("registry.invalid", "malformed parameter", field=_pointer(exc)))
            except SQLAlchemyError:
                log.error("database read failed: %s", failure_summary(sys.exc_info()[1]))  # no message: it may quote values
                return error_response(HubError("server.unavailable", "database read failed"))
        return route


def bearer_member(request: Request) -> str:
    """The member of the request's bearer token; ``access.denied`` otherwise, audited
    (``api.reject.<reason>``, with the member when the token is known, and the client address)."""
    from .. import audit
    from ..auth import authenticate
    from ..store.db import transaction

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    hub = request.app.state.hub
    sessions = hub.sessions
    try:
        with sessions() as session:
            return authenticate(session, token=token, now=utcnow(), certificates=hub.certificates)
    except HubError as refused:
        with transaction(sessions) as session:
            audit.record(session, f"api.reject.{refused.fields.get('reason', 'unknown')}", code=refused.code,
                         member=refused.fields.get("member"),
                         client_address=request.client.host if request.client else None)
        raise


__all__ = ["error_response", "bearer_member", "HubErrorRoute"]
