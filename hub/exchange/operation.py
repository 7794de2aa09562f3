"""What a SOAP operation behind the gate reads from its call: the hub, the verified request, the
caller's address, and its text arguments (one helper for every service, D22)."""
from __future__ import annotations

from typing import Any, NamedTuple

from protocol.ns import q

from .gate import VerifiedRequest


class OperationContext(NamedTuple):
    """One call of an operation: the hub's parts, the request the gate verified, the client address."""

    hub: Any  # hub.runtime.Hub (the exchange sits below the runtime that builds it)
    verified: VerifiedRequest
    client_address: str | None


def operation_context(ctx) -> OperationContext:
    """The context the SOAP front put in a spyne call's WSGI environment (``hub.soap.wsgi``)."""
    env = ctx.transport.req_env
    return OperationContext(env["hie.hub"], env["hie.verified"], env.get("REMOTE_ADDR"))


def text_argument(verified: VerifiedRequest, namespace: str, name: str) -> str | None:
    """The stripped text of the operation's child ``{namespace}name`` (None: absent or blank)."""
    text = verified.content.findtext(q(namespace, name))
    return text.strip() if text and text.strip() else None


__all__ = ["OperationContext", "operation_context", "text_argument"]
