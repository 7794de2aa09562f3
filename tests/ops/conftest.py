"""Fixtures for running a hub as an operator does: a PKI, free ports, ``hie serve`` as a subprocess."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from certs import PkiPaths, init_pki, issue_member
from protocol.credentials import Credentials
from tests.support.polling import QUICK_PROCESSOR

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hie(*args: str, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """``hie ARGS`` as its own process group, stderr captured (the tests read its lines)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "hub.cli.main", *args], cwd=ROOT, env=environment,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            **popen)


class ServedHub:
    """A running ``hie serve``: its base URL, /healthz, and its stderr once stopped."""

    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.stderr: str | None = None

    def health(self) -> tuple[int, dict]:
        answer = requests.get(self.url + "/healthz", timeout=5)
        assert answer.headers["content-type"] == "application/json", answer.text[:200]
        return answer.status_code, answer.json()

    def wait_for(self, predicate, *, timeout: float = 30.0, what: str = "") -> dict:
        """Poll /healthz until ``predicate(status_code, body)``; the body that satisfied it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "hie serve exited: " + self.stop()[-2000:]
            try:
                last = self.health()
            except requests.RequestException:
                time.sleep(0.1)
                continue
            if predicate(*last):
                return last[1]
            time.sleep(0.1)
        raise AssertionError(f"/healthz never showed {what}; last answer {last}")

    def stop(self) -> str:
        """Stop the hub (SIGTERM to its group, as a service manager does); its stderr."""
        if self.stderr is not None:
            return self.stderr
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            _, stderr = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            _, stderr = self.process.communicate(timeout=10)
        self.stderr = stderr
        return stderr


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    init_pki(root, hub_name="运维测试平台")
    issue_member(root, member="CLINIC01", member_name="运维测试社区卫生服务中心")
    return root


@pytest.fixture(scope="session")
def clinic(pki_dir) -> Credentials:
    member = pki_dir / "members" / "CLINIC01"
    return Credentials.from_files(member / "cert.pem", member / "key.pem")


@pytest.fixture(scope="session")
def hub_paths(pki_dir) -> PkiPaths:
    return PkiPaths.of(pki_dir)


@pytest.fixture
def serve(tmp_path, pki_dir):
    """Start ``hie serve`` on a free port with ``env`` added; stopped at the end of the test."""
    started: list[ServedHub] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServedHub:
        port = free_port()
        process = hie("serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--etl-interval", "0",
                      *args, env={"HIE_PKI_DIR": str(pki_dir), **QUICK_PROCESSOR, **(env or {})})
        hub = ServedHub(process, port)
        started.append(hub)
        hub.wait_for(lambda status, body: True, what="any answer")
        return hub

    (tmp_path / "data").mkdir()
    yield start
    for hub in started:
        hub.stop()
