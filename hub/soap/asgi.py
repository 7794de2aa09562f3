"""A buffered ASGI → WSGI bridge for the exchange.

SOAP requests and answers are small, whole documents (≤ the size limit), so the bridge reads the
whole body on the event loop, runs the WSGI application once in a worker thread and sends the
whole answer back: one hand-over between threads per request instead of one per chunk, which
is what a general bridge (a2wsgi) costs under load.
"""
from __future__ import annotations

import asyncio
import io
import sys
from concurrent.futures import ThreadPoolExecutor

from .faults import fault_envelope


class BufferedWsgi:
    """Mount a WSGI app in an ASGI app (HTTP only), buffering request and response."""

    def __init__(self, app, *, max_body: int, workers: int = 8):
        self.app = app
        self.max_body = max_body
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hie-wsgi")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        chunks, size, too_large = [], 0, False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size <= self.max_body + 1:
                chunks.append(body)
            else:
                too_large = True  # keep draining, but do not keep the bytes
            if not message.get("more_body", False):
                break
        if too_large:
            status, headers, payload = _too_large()
        else:
            environ = _environ(scope, b"".join(chunks))
            loop = asyncio.get_running_loop()
            status, headers, payload = await loop.run_in_executor(self.executor, _call, self.app, environ)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]})
        await send({"type": "http.response.body", "body": payload})


def _too_large():
    payload = fault_envelope("transport.too_large")
    return 500, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(payload)))], payload


def _environ(scope, body: bytes) -> dict:
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    root, path = scope.get("root_path", ""), scope["path"]
    if root and path.startswith(root):  # Starlette mounts keep the full path in scope["path"]
        path = path[len(root):]
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
    return int(started["status"].split()[0]), started["headers"], payload


__all__ = ["BufferedWsgi"]
