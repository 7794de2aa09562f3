"""Shared pieces of the JSON endpoints: errors rendered from machine codes, the caller's identity."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from .errors import HubError
from .wssec.timestamps import utcnow


def error_response(exc: HubError) -> JSONResponse:
    """A JSON error from the code's registered status and message (never the input)."""
    body = {"code": exc.code, "message": exc.message}
    field = getattr(exc, "field", None) or exc.fields.get("field")
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=exc.spec.http_status)


def bearer_org(request: Request) -> str:
    """The organization of the request's bearer token (``access.denied`` otherwise)."""
    from .auth import authenticate

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    with request.app.state.hub.sessions() as session:
        return authenticate(session, token=token, now=utcnow())


__all__ = ["error_response", "bearer_org"]
