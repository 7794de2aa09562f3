"""kill -9 of the hub while a client streams messages: after a restart and a full resend, every
message is stored exactly once and every receipt issued before the crash is returned unchanged."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from adapters.client import HubClient
from adapters.errors import AdapterError
from hub.exchange.models import Message
from hub.store.db import make_engine, session_factory
from protocol.status import MessageStatus

from tests.support.migrated import copy_migrated
from tests.support.polling import QUICK_PROCESSOR

from .builders import sample_document

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 120


def _start(data_dir: Path, db_url: str, pki_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "HIE_PKI_DIR": str(pki_dir), "PYTHONPATH": str(ROOT), **QUICK_PROCESSOR}
    process = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(data_dir),
                                "--port", str(port), "--database-url", db_url, "--workers", "2", "--etl-interval", "0"],
                               env=env, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode(errors="replace")[-2000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError("hub did not start")


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.slow
def test_kill_9_during_stream_then_resend(request, tmp_path, db_url, pki_dir, members, hub_paths):
    copy_migrated(request, db_url)  # the hub starts on a migrated copy instead of migrating it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hub = _start(tmp_path, db_url, pki_dir, port)
    client = HubClient(f"http://127.0.0.1:{port}/soap/exchange", credentials=members["CLINIC01"],
                       hub_cert=hub_paths.hub_enc_cert, ca_cert=hub_paths.ca_cert, timeout=5)
    documents = [(f"urn:uuid:{uuid.uuid4()}", sample_document(f"崩溃测试 {i}")) for i in range(TOTAL)]
    before_crash: dict[str, object] = {}
    failures: list[str] = []

    def stream():
        for message_id, document in documents:
            try:
                before_crash[message_id] = client.submit(document, message_id=message_id)
            except AdapterError as exc:
                failures.append(exc.code)

    member = threading.Thread(target=stream)
    member.start()
    deadline = time.monotonic() + 60
    while len(before_crash) < TOTAL // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    _kill(hub)  # in the middle of the stream
    member.join(timeout=120)
    assert 0 < len(before_crash) < TOTAL and failures, "the crash did not interrupt the stream"
    assert all(code == "transport.unavailable" for code in failures)

    hub = _start(tmp_path, db_url, pki_dir, port)
    try:
        for message_id, document in documents:  # resend everything, re-signed with fresh timestamps
            receipt = client.submit(document, message_id=message_id)
            assert receipt.accepted and receipt.message_id == message_id
            if message_id in before_crash:
                assert receipt == before_crash[message_id], "a receipt changed across the crash"
        engine = make_engine(db_url)
        with session_factory(engine)() as session:
            rows = session.execute(select(Message.message_id, func.count()).group_by(Message.message_id)).all()
            assert len(rows) == TOTAL and all(count == 1 for _, count in rows)
            assert {mid for mid, _ in rows} == {mid for mid, _ in documents}
            # Messages the crash left pending are processed after the restart.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pending = session.scalar(select(func.count()).select_from(Message).where(
                    Message.status.in_([s.value for s in MessageStatus.pending()])))
                if pending == 0:
                    break
                time.sleep(0.2)
                session.expire_all()
            assert pending == 0
        engine.dispose()
    finally:
        _kill(hub)
