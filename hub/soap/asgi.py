"""The ASGI front of the SOAP services.

Submissions to the exchange are served on the event loop: the gate (parse, signature,
certificate, timestamp, decryption) and the receipts are CPU work with no database in them, so a
worker thread would only add a hand-over and a contender for the GIL. The request then waits,
without blocking the loop, for the inbox's group commit, and is answered by the same code the
WSGI middleware uses (``hub.soap.submit``). Whatever touches the database before the commit, or
may run long, goes to a worker thread through the WSGI stack: a rejection (its audit record), the
other exchange operations (replay check, replies), the records and registry services, the WSDL,
any body over ``inline_bytes``, and any compressed body (its inflated size is not known in advance).

Request and answer are buffered whole: SOAP messages are single documents within the size limit.
"""
from __future__ import annotations

import asyncio
import functools
import io
import sys
from concurrent.futures import ThreadPoolExecutor

from protocol.errors import HubError

from ..exchange.gate import GateTrace
from . import submit
from .faults import fault_envelope
from .wsgi import GateMiddleware, decode_body, unexpected

_XML = [(b"content-type", b"text/xml; charset=utf-8")]


class SoapFront:
    """``/soap/<service>`` (``/soap/`` is the exchange): an ASGI app for the gated SOAP services."""

    def __init__(self, hub, services: dict[str, object], *, max_body: int, workers: int = 8,
                 inline_bytes: int = 256 * 1024):
        self.hub = hub
        self.services = services
        self.exchange: GateMiddleware = services["exchange"]
        self.max_body = max_body
        self.inline_bytes = inline_bytes
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hie-wsgi")
        self._group = _GroupCommit(hub.inbox)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await _read(receive, self.max_body)
        if body is None:
            return  # the client went away
        try:
            if body is _TOO_LARGE:  # refused before any parsing, but audited like every refusal
                refusal = HubError("transport.too_large", "body over the limit")
                status, payload = 500, await self._in_thread(self.exchange.rejection, refusal, GateTrace(), _client(scope))
                headers = _XML
            elif (scope["method"] == "POST" and _service(scope) == "exchange" and len(body) <= self.inline_bytes
                  and not _encoded(scope)):
                status, payload = await self._exchange(scope, body)
                headers = _XML
            else:
                status, headers, payload = await self._in_thread(_call, self._wsgi_app(scope), _environ(scope, body))
        except Exception as exc:  # never a bare 500 without a Fault, never the exception's text
            status, payload, headers = 500, fault_envelope(unexpected(exc).code), _XML
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _exchange(self, scope, body: bytes) -> tuple[int, bytes]:
        """A POST to the exchange: submissions on the loop, anything else in a worker thread."""
        hub, trace, client = self.hub, GateTrace(), _client(scope)
        try:
            headers = _headers(scope)
            raw = decode_body(body, limit=hub.settings.max_message_bytes, encoding=headers.get(b"content-encoding"),
                              content_type=headers.get(b"content-type"))
            opened = hub.gate.open(raw, trace=trace)
            if opened.operation in self.exchange.service.submit_operations:
                pending = submit.prepare(hub, hub.gate.finish(opened), client_address=client)
                await self._group.commit(pending)
                return submit.answer(hub, pending)
        except HubError as exc:
            return 500, await self._in_thread(self.exchange.rejection, exc, trace, client)
        except Exception as exc:
            return 500, await self._in_thread(self.exchange.rejection, unexpected(exc), trace, client)
        serve = functools.partial(self.exchange.serve, opened, trace)
        status, _, payload = await self._in_thread(_call, serve, _environ(scope, body))
        return status, payload

    def _wsgi_app(self, scope):
        app = self.services.get(_service(scope))
        return app if app is not None else _not_found

    async def _in_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)


class _GroupCommit:
    """The submissions gated during one turn of the event loop, committed together at its end.

    A request runs its gate without yielding, then waits here; the flush is scheduled behind the
    tasks already ready, so every request whose bytes had arrived joins the same transaction. The
    loop commits it itself when SQLite's write lock is free (the commit's CPU is the same, and no
    thread hand-over); when the lock is held, by the other worker or the processor, the group goes
    to the inbox's writer thread and the loop goes on gating. Either way the log's sync is left
    to the inbox's sync thread, which answers the group's requests through the loop once it is done.
    """

    def __init__(self, inbox):
        self.inbox = inbox
        self._jobs: list = []
        self._futures: list[asyncio.Future] = []

    def commit(self, job) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._jobs:
            loop.call_soon(self._flush, loop)
        self._jobs.append(job)
        self._futures.append(future)
        return future

    def _flush(self, loop) -> None:
        jobs, futures, self._jobs, self._futures = self._jobs, self._futures, [], []
        for job, future in zip(jobs, futures):  # answered once the commit is on disk, from another thread
            job.on_done = functools.partial(loop.call_soon_threadsafe, _settle, future)
        try:
            if not self.inbox.settle_now(jobs):
                self.inbox.enqueue(jobs)
            return
        except Exception as exc:  # a waiting request must always be answered
            failure = unexpected(exc)
            for job in jobs:
                if job.outcomes is None and job.error is None:
                    job.error = failure
        for future in futures:
            _settle(future)


_TOO_LARGE = object()


async def _read(receive, limit: int):
    """The whole request body; ``_TOO_LARGE`` past ``limit`` (drained, not kept); None on disconnect."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit + 1:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return _TOO_LARGE if size > limit + 1 else b"".join(chunks)


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _client(scope) -> str | None:
    return (scope.get("client") or ("",))[0] or None


def local_path(scope) -> str:
    """The request path below the app's mount point (ASGI servers keep ``root_path`` in ``path``)."""
    root, path = scope.get("root_path", ""), scope["path"]
    return path[len(root):] if root and path.startswith(root) else path


def _service(scope) -> str:
    """The service name under ``/soap/`` (``exchange`` for ``/soap/`` itself)."""
    return local_path(scope).strip("/") or "exchange"


def _encoded(scope) -> bool:
    """True when the body claims a content encoding: a few KB of gzip may inflate to the size limit,
    so it is inflated and gated in a worker thread, never on the event loop."""
    return any(name == b"content-encoding" and value.strip().lower() not in (b"", b"identity")
               for name, value in scope.get("headers", ()))


def _headers(scope) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in scope.get("headers", [])}


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


def _environ(scope, body: bytes) -> dict:
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    root, path = scope.get("root_path", ""), local_path(scope)
    environ = {
        "REQUEST_METHOD": scope["method"], "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1]), "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": client[0], "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").upper().replace("-", "_")
        value = value.decode("latin-1")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = f"{environ['HTTP_' + key]},{value}" if "HTTP_" + key in environ else value
    return environ


def _call(app, environ) -> tuple[int, list, bytes]:
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    result = app(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started["headers"]
               if k.lower() != "content-length"]
    return int(started["status"].split()[0]), headers, payload


__all__ = ["SoapFront", "local_path"]
