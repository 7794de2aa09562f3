"""A reverse proxy between a client and the hub that can stall one request: kill -9 tests use it to
stop a client at an exact point of its conversation without a hook in the client's code.

``StallingProxy(upstream, stall_at=3, stage="before-submit")`` holds the 3rd POST without sending
it on; with ``stage="after-submit"`` it sends it on, lets the hub answer, and holds the answer.
``stalled`` is set when the chosen request has reached that point.
"""
from __future__ import annotations

import http.client
import socketserver
import threading
from urllib.parse import urlsplit

STAGES = ("before-submit", "after-submit")


class StallingProxy:
    def __init__(self, upstream: str, *, stall_at: int, stage: str):
        if stage not in STAGES:
            raise ValueError(f"stage is one of {STAGES}")
        target = urlsplit(upstream)
        self.host, self.port, self.prefix = target.hostname, target.port, target.path.rstrip("/")
        self.stall_at, self.stage = stall_at, stage
        self.stalled = threading.Event()
        self._release = threading.Event()
        self._posts = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while proxy._serve_one(self.rfile, self.wfile):
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _serve_one(self, rfile, wfile) -> bool:
        request_line = rfile.readline()
        if not request_line:
            return False
        method, path, _ = request_line.decode("latin-1").split(" ", 2)
        headers = {}
        while (line := rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = rfile.read(int(headers.get("content-length", 0)))
        stall = False
        if method == "POST":
            with self._lock:
                self._posts += 1
                stall = self._posts == self.stall_at
        if stall and self.stage == "before-submit":
            self._hold()
            return False
        upstream = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            forward = {k: v for k, v in headers.items() if k not in ("host", "connection", "content-length")}
            upstream.request(method, path, body=body, headers=forward)
            answer = upstream.getresponse()
            payload = answer.read()
            status, reason, answer_headers = answer.status, answer.reason, answer.getheaders()
        finally:
            upstream.close()
        if stall:  # after-submit: the hub has stored and answered; the client never hears it
            self._hold()
            return False
        kept = [(k, v) for k, v in answer_headers if k.lower() not in ("content-length", "transfer-encoding",
                                                                       "connection")]
        head = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in kept), f"Content-Length: {len(payload)}", "", ""]
        wfile.write("\r\n".join(head).encode("latin-1") + payload)
        wfile.flush()
        return True

    def _hold(self) -> None:
        self.stalled.set()
        self._release.wait()


__all__ = ["StallingProxy", "STAGES"]
