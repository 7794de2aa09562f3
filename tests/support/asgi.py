"""Requests to the ASGI SOAP front in-process, as uvicorn hands them over (no sockets).

For the exchange tests and ``bench.stages``: one request (``post``) or many on one event loop
(``post_all``), the body in chunks if asked, the answer as (status, body).
"""
from __future__ import annotations

import asyncio


def exchange_scope(headers: dict[str, str]) -> dict:
    """The ASGI scope of a POST to ``/soap/exchange`` (as ``HubApp`` passes it to the front)."""
    return {"type": "http", "method": "POST", "path": "/soap/exchange", "root_path": "/soap",
            "http_version": "1.1", "scheme": "http", "query_string": b"", "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80), "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}


async def post(front, body: bytes, *, headers: dict[str, str] | None = None,
               chunk: int | None = None) -> tuple[int, bytes]:
    """One request; the body arrives in pieces of ``chunk`` bytes (all at once by default)."""
    if headers is None:
        headers = {"content-type": "text/xml; charset=utf-8", "content-length": str(len(body))}
    step = chunk or max(len(body), 1)
    pieces = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
    inbound = [{"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
               for i, piece in enumerate(pieces)]
    sent = []

    async def receive():
        return inbound.pop(0)

    async def send(message):
        sent.append(message)

    await front(exchange_scope(headers), receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def post_all(front, bodies: list[bytes], *, in_flight: int | None = None, until=None,
             timeout: float | None = None) -> list[tuple[int, bytes]]:
    """Every body as its own request on one event loop, at most ``in_flight`` at a time (all at
    once by default), answers in order. ``until`` (async) runs alongside and must finish too."""

    async def run():
        answers: list = [None] * len(bodies)
        pending = iter(range(len(bodies)))

        async def lane():
            for index in pending:
                answers[index] = await post(front, bodies[index])

        lanes = [lane() for _ in range(in_flight or len(bodies))]
        await asyncio.gather(*lanes, *([until()] if until else []))
        return answers

    return asyncio.run(asyncio.wait_for(run(), timeout) if timeout else run())


__all__ = ["exchange_scope", "post", "post_all"]
