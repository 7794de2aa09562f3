"""What the throwaway servers of the tests (tests/support/pgserver.py, chserver.py, zkserver.py) share:
a free port on 127.0.0.1, a process ended (SIGTERM, then SIGKILL), a start tried again on new ports when
one was taken between probe and bind, ``with`` around start and stop, and a session fixture's server
started before and stopped after."""
from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import TypeVar

HOST = "127.0.0.1"
_Server = TypeVar("_Server")


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now (another process may take it before we bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_on_free_ports(start: Callable[[], _Server], error: type[Exception]) -> _Server:
    """``start()``, called again (up to three times) while it fails with ``error`` saying a port was taken
    between probe and bind (``start`` picks new ports each time)."""
    for attempt in (1, 2, 3):
        try:
            return start()
        except error as exc:
            if attempt == 3 or "Address already in use" not in str(exc):
                raise
    raise AssertionError("unreachable")


def terminate(process: subprocess.Popen | None, *, timeout: float) -> None:
    """SIGTERM ``process`` if it still runs, SIGKILL after ``timeout`` seconds; waited for either way."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Launched:
    """``with server:`` starts it (its ``start``) and stops it after (its ``stop``)."""

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def running(server: _Server) -> Iterator[_Server]:
    """A fixture's server: started, yielded, stopped after (``yield from running(Server())``)."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["HOST", "Launched", "free_port", "running", "start_on_free_ports", "terminate"]
