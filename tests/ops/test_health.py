"""/healthz per part, in-process: JSON always, 503 naming the part that is down (database, disk,
processor), never a plain-text 500."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hub.heartbeat import Heartbeat, read_beat
from hub.runtime import Hub
from hub.settings import Settings
from hub.web.app import create_app

from .conftest import ROOT, free_port


def _client(settings: Settings, *, migrate: bool = True) -> TestClient:
    app = create_app(settings, hub=Hub.open(settings, run_migrations=migrate))
    return TestClient(app, raise_server_exceptions=False)


def _settings(tmp_path, pki_dir, **overrides) -> Settings:
    values = {"start_processor": False, "processor_expected": False, **overrides}
    return Settings(data_dir=tmp_path, pki_dir=pki_dir, **values)


def test_unreachable_database_is_a_503_naming_the_database(tmp_path, pki_dir):
    # A PostgreSQL URL where nothing listens: the hub's database is down, the rest of it is not.
    url = f"postgresql+psycopg://hie@127.0.0.1:{free_port()}/hie"
    with _client(_settings(tmp_path, pki_dir, database_url=url), migrate=False) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["status"] == "down" and body["failing"] == ["database"]
        assert body["parts"]["database"]["status"] == "down"
        assert body["parts"]["database"]["code"] == "server.unavailable"
        assert "hie@" not in answer.text  # the URL (and any credentials in it) stays out
        assert body["parts"]["web"]["status"] == "ok" and body["parts"]["disk"]["status"] == "ok"
        # /metrics still answers, and says the database did not
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        values = {s.name: s.value for f in text_string_to_metric_families(metrics.text) for s in f.samples}
        assert values["hie_database_up"] == 0.0 and "hie_inbox_messages" not in values


def test_low_disk_is_a_503_naming_the_disk(tmp_path, pki_dir):
    with _client(_settings(tmp_path, pki_dir, min_free_disk_mb=10**12)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["disk"]
    assert answer.json()["parts"]["disk"]["free_mb"] < 10**12


def test_processor_part_follows_its_heartbeat(tmp_path, pki_dir):
    settings = _settings(tmp_path, pki_dir, processor_expected=True, processor_stale_s=5)
    with _client(settings) as client:
        # expected but never started
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.json()["failing"] == ["processor"]
        assert answer.json()["parts"]["processor"]["reason"] == "no heartbeat"
        # a process that wrote its heartbeat, then was killed
        child = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from hub.heartbeat import Heartbeat; Heartbeat(Path(sys.argv[1])).beat()",
                                str(settings.processor_heartbeat)], check=True, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert child.returncode == 0 and read_beat(settings.processor_heartbeat).pid != os.getpid()
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.json()["parts"]["processor"]["reason"] == "process gone"
        # alive
        beat = Heartbeat(settings.processor_heartbeat)
        beat.beat(force=True)
        answer = client.get("/healthz")
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        processor = answer.json()["parts"]["processor"]
        assert processor["status"] == "ok" and processor["pid"] == os.getpid()
        assert processor["backlog"] == 0 and processor["backlog_age_s"] == 0
        # alive but silent for longer than processor_stale_s (a hung processor)
        silent = read_beat(settings.processor_heartbeat)._replace(at=time.time() - 60)
        settings.processor_heartbeat.write_text(json.dumps(silent._asdict()))
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.json()["parts"]["processor"]["reason"] == "heartbeat stale"


def test_in_process_processor_is_healthy(tmp_path, pki_dir):
    # hie serve --workers 1 style without the child: the app's own processor thread beats
    settings = _settings(tmp_path, pki_dir, start_processor=True, processor_expected=None)
    with _client(settings) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 200, answer.text
        assert answer.json()["parts"]["processor"]["pid"] == os.getpid()
        assert answer.json()["parts"]["mart"]["status"] == "off"
    assert not settings.processor_heartbeat.exists()  # removed on a clean stop


def test_processor_not_run_here_is_not_required(tmp_path, pki_dir):
    with _client(_settings(tmp_path, pki_dir, processor_expected=False)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert answer.json()["parts"]["processor"]["status"] == "off"


def test_mart_part_says_when_the_marts_owner_does_not_answer(tmp_path, pki_dir):
    """Workers of a hub with the embedded mart ask its owner process; with no owner running the
    mart part is down (reported, not required: the exchange still answers 200)."""
    from etl.mart import owned_mart

    settings = _settings(tmp_path, pki_dir)
    with _client(settings) as client:
        client.app.state.mart = owned_mart(settings, timeout=2)  # what a worker holds: nobody answers it
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "degraded"
    mart = answer.json()["parts"]["mart"]
    assert (mart["status"], mart["required"], mart["reason"]) == ("down", False, "olap.owner.unavailable")


def test_a_node_without_a_processor_degrades_on_an_old_backlog(tmp_path, pki_dir):
    """A ``--no-processor`` node of a multi-node hub: its processor part is off, yet an accepted message
    waiting longer than HIE_BACKLOG_WARN_S means the processors elsewhere are not keeping up."""
    from datetime import timedelta

    from sqlalchemy import update

    from hub.exchange.models import Message
    from protocol.timestamps import utcnow
    from tests.support.inbox import Store

    settings = _settings(tmp_path, pki_dir, processor_expected=False, backlog_warn_s=60)
    hub = Hub.open(settings)
    with TestClient(create_app(settings, hub=hub), raise_server_exceptions=False) as client:
        store = Store(hub.sessions)
        [row] = store.deliver(b"<waiting/>")
        assert client.get("/healthz").json()["status"] == "ok"  # a fresh backlog is no concern
        with hub.sessions.begin() as session:
            session.execute(update(Message).where(Message.id == row).values(received_at=utcnow() - timedelta(minutes=5)))
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "degraded"
    processor = answer.json()["parts"]["processor"]
    assert processor["status"] == "degraded" and processor["required"] is False
    assert processor["backlog"] == 1 and processor["backlog_age_s"] >= 299
    assert "60 s" in processor["reason"]
