"""Fixtures for the clinic agent: a real hub (``hie serve`` subprocess on SQLite, stoppable and
restartable on the same port and data) and an agent folder configured for CLINIC01 against it.

The PKI is the exchange tests' session PKI (``pki_dir``; CLINIC01 is an RSA member, EXPIRED01 has
an expired certificate). Documents are the integrator examples from ``schemas/examples``
(``tests.support.documents``), so the hub's processor normalizes them like a member's.
"""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.exchange.conftest import foreign_pki, hub_paths, members, pki_dir  # noqa: F401 - shared fixtures
from tests.support.documents import document_bytes
from tests.support.polling import QUICK_PROCESSOR

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HubProcess:
    """``hie serve`` on SQLite in its own process group: start, kill -9, start again, count the inbox."""

    def __init__(self, data_dir: Path, pki: Path, port: int):
        self.data_dir, self.pki, self.port = data_dir, pki, port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/soap/exchange"

    def start(self) -> "HubProcess":
        env = {**os.environ, "HIE_PKI_DIR": str(self.pki), "PYTHONPATH": str(ROOT), **QUICK_PROCESSOR}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--etl-interval", "0"],
            env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode(errors="replace")[-2000:]
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("hub did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def query(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "hub.db", timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def inbox(self, member: str = "CLINIC01") -> tuple[int, int, int]:
        """(messages, distinct MessageIDs, distinct documents) the hub stored for ``member``."""
        return self.query("SELECT count(*), count(DISTINCT message_id), count(DISTINCT document_sha256)"
                          " FROM inbox_message WHERE member = ?", member)[0]

    def unacknowledged_replies(self, member: str = "CLINIC01") -> int:
        return self.query("SELECT count(*) FROM outbox_reply WHERE member = ? AND acked_at IS NULL",
                          member)[0][0]


def premigrated(data_dir: Path, migrated: str) -> None:
    """``data_dir``/hub.db a copy of the session's migrated SQLite database (tests/support/migrated.py):
    ``hie serve`` then finds its migrations done, which was 0.5–4 s of each start on the shared cores."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(migrated) as source, sqlite3.connect(data_dir / "hub.db") as target:
        source.backup(target)
    source.close()
    target.close()


@pytest.fixture
def hub_process(tmp_path, pki_dir, migrated_sqlite):
    """A stopped hub on a migrated database; the test starts (and may kill and restart) it."""
    hub = HubProcess(tmp_path / "hub", pki_dir, free_port())
    premigrated(tmp_path / "hub", migrated_sqlite)
    yield hub
    hub.kill()


@pytest.fixture
def running_hub(hub_process):
    return hub_process.start()


@pytest.fixture(scope="module")
def module_hub(tmp_path_factory, pki_dir, migrated_sqlite):  # noqa: F811
    """One running hub for a module whose tests never stop it and count only what each sent (a start
    is a process, its imports and the app's start-up: 3–12 s here, most of such a test's time)."""
    data_dir = tmp_path_factory.mktemp("agent-hub") / "hub"
    premigrated(data_dir, migrated_sqlite)
    hub = HubProcess(data_dir, pki_dir, free_port())
    try:
        yield hub.start()
    finally:
        hub.kill()


def write_config(folder: Path, *, hub_url: str, pki: Path, member: str = "CLINIC01", batch_size: int = 25,
                 replies: str = "") -> Path:
    """An agent folder: agent.toml, outgoing/ (canonical files), replies/ (every reply as a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "outgoing").mkdir(exist_ok=True)
    files = pki / "members" / member
    path = folder / "agent.toml"
    path.write_text(f'''
member = "{member}"
hub_url = "{hub_url}"
state_dir = "state"
[certificates]
cert = "{files / 'cert.pem'}"
key = "{files / 'key.pem'}"
hub_cert = "{pki / 'hub' / 'enc-cert.pem'}"
ca_cert = "{pki / 'ca' / 'cert.pem'}"
[push]
batch_size = {batch_size}
timeout = 10
backoff_initial = 0.05
backoff_max = 0.5
[[sources]]
name = "xml"
kind = "canonical"
folder = "outgoing"
pattern = "*.xml"
settle_seconds = 0
{replies or '[[replies]]' + chr(10) + 'kinds = ["*"]' + chr(10) + 'folder = "replies"'}
''', encoding="utf-8")
    return path


def write_documents(folder: Path, count: int, *, start: int = 0, tag: str = "AG") -> list[Path]:
    """``count`` distinct LabReports by CLINIC01 as files in ``folder``/outgoing."""
    paths = []
    for serial in range(start, start + count):
        path = folder / "outgoing" / f"lab-{tag}-{serial:05d}.xml"
        path.write_bytes(document_bytes("LabReport", document_id=f"CLINIC01-LAB-{tag}-{serial:05d}"))
        paths.append(path)
    return paths


@pytest.fixture
def agent_dir(tmp_path, running_hub, pki_dir) -> Path:
    """An agent folder configured against the running hub; returns the config path."""
    return write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir)


def wait_until(predicate, *, timeout: float = 60.0, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
