"""``hie serve`` as an operator runs it: the processor is supervised (kill -9 → restarted, the
messages accepted meanwhile are processed), /healthz names it while it is down, /metrics parses,
and start-up errors are one line with a code, before anything says the hub is serving."""
from __future__ import annotations

import os
import signal
import socket
import time
import uuid

import pytest
import requests
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from adapters.client import HubClient

from .conftest import free_port, hie



def _client(hub, clinic, hub_paths) -> HubClient:
    return HubClient(hub.url + "/soap/exchange", credentials=clinic, hub_cert=hub_paths.hub_enc_cert,
                     ca_cert=hub_paths.ca_cert, timeout=10)


def _note() -> etree._Element:
    """A synthetic note (no real person), as tests/exchange/builders.py makes them."""
    return etree.fromstring('<Note xmlns="urn:hie:doc:v1" synthetic="true"><Text>运维测试</Text></Note>'.encode())


def _metrics(hub) -> dict[tuple[str, tuple], float]:
    answer = requests.get(hub.url + "/metrics", timeout=5)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def _processor_down(status: int, body: dict) -> bool:
    return status == 503 and body.get("failing") == ["processor"]


def test_the_processors_idle_poll_interval_can_be_set_in_the_environment(monkeypatch):
    """``HIE_PROCESSING_INTERVAL``: ``hie serve`` hands its environment to the processor it starts."""
    from hub.cli.main import process

    assert process.make_context("process", ["--data-dir", "data"]).params["interval"] == 0.5
    monkeypatch.setenv("HIE_PROCESSING_INTERVAL", "0.05")
    assert process.make_context("process", ["--data-dir", "data"]).params["interval"] == 0.05


@pytest.mark.slow
def test_hung_then_killed_processor_is_named_by_healthz_restarted_and_catches_up(serve, clinic, hub_paths):
    hub = serve(env={"HIE_RESTART_BACKOFF_S": "1", "HIE_PROCESSOR_STALE_S": "3"})
    first = hub.wait_for(lambda status, body: status == 200, what="200")["parts"]["processor"]["pid"]
    # A hung processor (stopped: alive, silent): once its heartbeat is stale, /healthz names it.
    os.kill(first, signal.SIGSTOP)
    down = hub.wait_for(_processor_down, timeout=10, what="503 naming the processor")
    assert down["status"] == "down" and down["parts"]["processor"]["reason"] == "heartbeat stale"
    assert down["parts"]["web"]["status"] == down["parts"]["database"]["status"] == "ok"
    # The hub still accepts: receipts go out, the backlog grows and shows its age.
    client = _client(hub, clinic, hub_paths)
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(3)]
    assert all(client.submit(_note(), message_id=message_id).accepted for message_id in ids)
    status, body = hub.health()
    assert status == 503 and body["parts"]["processor"]["backlog"] == 3
    assert body["parts"]["processor"]["backlog_age_s"] >= 0
    values = _metrics(hub)
    assert values[("hie_inbox_messages", (("status", "accepted"),))] == 3
    assert values[("hie_processor_up", ())] == 0 and values[("hie_processing_lag_seconds", ())] > 0
    # kill -9: the supervisor starts it again after its backoff, and it processes what waited.
    os.kill(first, signal.SIGKILL)
    up = hub.wait_for(lambda status, body: status == 200, timeout=30, what="the processor back")
    assert up["parts"]["processor"]["pid"] != first
    deadline = time.monotonic() + 20
    while _metrics(hub)[("hie_inbox_messages", (("status", "accepted"),))] and time.monotonic() < deadline:
        time.sleep(0.2)
    values = _metrics(hub)
    assert values[("hie_inbox_messages", (("status", "accepted"),))] == 0
    # these synthetic notes are no clinical document type: processing refuses them, a reply each
    assert values[("hie_inbox_messages", (("status", "rejected"),))] == 3
    assert values[("hie_refusals_total", (("code", "record.type.unknown"), ("event", "message.reject")))] == 3
    assert values[("hie_processing_lag_seconds", ())] == 0
    assert values[("hie_processor_up", ())] == 1 and values[("hie_database_up", ())] == 1
    stderr = hub.stop()
    assert f"processor (pid {first}) was killed by SIGKILL after " in stderr
    assert "; restarting in 1.0 s (restart 1)" in stderr
    assert "Traceback" not in stderr


def test_start_up_errors_are_one_line_before_serving(tmp_path, pki_dir):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    (tmp_path / "data").mkdir()
    pki = {"HIE_PKI_DIR": str(pki_dir)}
    environment = {key: value for key, value in os.environ.items() if key != "HIE_PKI_DIR"}
    cases = {
        "pki.missing": hie("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), env=environment),
        "server.address.in_use": hie("serve", "--data-dir", str(tmp_path / "data"), "--port", str(busy), env=pki),
        "server.unavailable": hie("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()),
                                  "--database-url", f"postgresql+psycopg://hie:secret@127.0.0.1:{free_port()}/hie",
                                  env=pki),
    }
    try:
        for code, process in cases.items():
            _, stderr = process.communicate(timeout=60)
            assert process.returncode != 0, code
            lines = stderr.strip().splitlines()
            assert len(lines) == 1, stderr[-2000:]
            assert lines[0].startswith(f"error: {code}: "), lines[0]
            assert "secret" not in lines[0]
    finally:
        holder.close()
