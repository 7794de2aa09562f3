"""Shared pieces of the JSON endpoints: errors rendered from machine codes, the caller's identity."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from protocol.errors import HubError
from protocol.timestamps import utcnow

from .errors import HubErrorRoute, error_response  # re-exported: the routers' error rendering lives there


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


# The caller, authenticated before any parameter or body is read: a refused token is refused (and
# audited) whatever else the request holds (dependencies are solved before the endpoint's parameters).
Member = Annotated[str, Depends(bearer_member)]

__all__ = ["error_response", "bearer_member", "HubErrorRoute", "Member"]
