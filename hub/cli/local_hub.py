"""A hub on this machine for the commands that need one running (``hie demo``, ``hie region load``).

``LocalHub`` starts ``hie serve`` on the data directory as a child process on a loopback port (a free
one unless given), waits until ``/healthz`` answers and says the mart answers too, and stops it (and everything it supervises)
when the ``with`` block ends — also on Ctrl-C. ``serve_until_interrupted`` hands the terminal to it.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalHub:
    def __init__(self, data_dir: Path, *, port: int = 0, etl_interval: float = 3.0, workers: int = 1,
                 database_url: str | None = None):
        self.data_dir, self.port = data_dir, port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.argv = [sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(data_dir), "--port",
                     str(self.port), "--etl-interval", str(etl_interval), "--workers", str(workers),
                     "--exit-with-parent"]
        if database_url:
            self.argv += ["--database-url", database_url]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LocalHub:
        # its own process group: stopping it stops the processor and mart owner it supervises as well
        self.process = subprocess.Popen(self.argv, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                        start_new_session=True)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise click.ClickException("the hub exited during start-up (its log is above)")
            try:
                answer = requests.get(f"{self.base}/healthz", timeout=2)
                # the mart is not required to serve, but the commands that start a hub read it next
                mart = answer.json().get("parts", {}).get("mart", {}).get("status")
                if answer.status_code == 200 and mart in ("ok", "off"):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        raise click.ClickException("the hub did not become healthy")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the hub, then whatever of its process group is left (SIGTERM, then SIGKILL after
        ``timeout``); returns once none of it runs, so the embedded mart is free for the next owner."""
        if self.process is None:
            return
        group = self.process.pid
        self.process.terminate()  # its supervisor stops the processor and the mart owner
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(group, signal.SIGKILL)
            self.process.wait()
        for number in (signal.SIGTERM, signal.SIGKILL):
            deadline = time.monotonic() + timeout
            while self._signal(group, 0) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self._signal(group, number):
                return
        # SIGKILL sent: the kernel ends them at once, but they are gone only once reaped
        deadline = time.monotonic() + timeout
        while self._signal(group, 0) and time.monotonic() < deadline:
            time.sleep(0.05)

    @staticmethod
    def _signal(group: int, number: int) -> bool:
        """Send ``number`` to the group; False when no process of it is left."""
        try:
            os.killpg(group, number)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def serve_until_interrupted(self) -> None:
        try:
            self.process.wait()
        except KeyboardInterrupt:
            click.echo("stopping the hub")


__all__ = ["LocalHub", "free_port"]
