"""Request bodies read up to a limit, never past it: the one bounded reader of the JSON APIs and the console.

A declared length over the limit is refused before a byte is read; a body without one (chunked) is
read until it passes the limit and then dropped. So no client, signed in or not, makes the hub hold
a body of any size in memory, or wait for it to arrive.
"""
from __future__ import annotations

from typing import Any

from fastapi import Request

from protocol.errors import HubError

from .errors import json_body


async def read_body(request: Request, *, limit: int) -> bytes | None:
    """The request's body, or None when it is larger than ``limit`` bytes (then not read to its end)."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def read_json(request: Request, *, limit: int) -> Any:
    """The body as JSON (empty: None); ``transport.too_large`` over ``limit`` bytes, ``request.not_json``
    if it is not JSON."""
    raw = await read_body(request, limit=limit)
    if raw is None:
        raise HubError("transport.too_large", f"body over {limit} bytes")
    return json_body(raw)


__all__ = ["read_body", "read_json"]
