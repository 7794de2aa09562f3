"""A hub (SQLite or PostgreSQL) with the demo registry, fed through the real exchange, and the
monitor's JSON API in front of it.

``exchange`` sends, through the gate and the inbox, and processes with the real stages:
  CLINIC01  an outpatient visit (processed), a visit authored as HOSP01 (rejected in processing:
            record.author.mismatch at the author's field), a Document holding two documents
            (refused at the gate: exchange.document.invalid), a request with an expired timestamp
            (refused at the gate before its signer is known: no member), then fetches its replies
  HOSP01    a lab report (processed), then one more (left pending: the backlog)
  CLINIC02, CLINIC03, HOSP02 (care providers) send nothing: silent.
Bureaus: BUREAU (city 330100, the demo's), B0105 (district 330105), B0102 (district 330102).
"""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from certs import PkiPaths
from hub import pipeline
from hub.auth import issue
from hub.mpi.resident_id import make_resident_id
from hub.registry import seed_demo
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.runtime import Hub
from hub.soap.wsgi import GateMiddleware
from hub.store.db import transaction
from hub.web.errors import install
from hub.web.monitor import router
from protocol.credentials import Credentials, load_certificate
from protocol.timestamps import utcnow
from tests.exchange.builders import fault_code, operation, sealed, submit_document
from tests.support.documents import document
from tests.support.hubs import close_hub, member_credentials, member_pki, open_hub

SENDERS = ("CLINIC01", "HOSP01", "CLINIC02")
BUREAUS = (("B0105", "330105"), ("B0102", "330102"))
# synthetic person (generated for the tests, not a real person): none of it may reach the monitor
PATIENT = {"resident_id": make_resident_id("33010619800101003"), "name": "监测合成患者", "sex": "2", "birth_date": "1980-01-01",
           "division": "330106"}


@pytest.fixture(scope="session")
def monitor_pki(tmp_path_factory) -> Path:
    return member_pki(tmp_path_factory.mktemp("monitor-pki"), hub_name="监测测试平台", members=SENDERS)


@pytest.fixture(scope="session")
def credentials(monitor_pki) -> dict[str, Credentials]:
    return member_credentials(monitor_pki, SENDERS)


@pytest.fixture
def hub(request, tmp_path, db_url, monitor_pki) -> Hub:
    yield from monitor_hub(request, tmp_path, db_url, monitor_pki)


def monitor_hub(request, data_dir, db_url: str, monitor_pki):
    """``hub``'s recipe, for a module that shares one hub among tests that only read (tests/monitor/test_api.py)."""
    hub = open_hub(request, data_dir, db_url, monitor_pki)  # a copy of the migrated database: nothing to migrate
    with transaction(hub.sessions) as session:
        seed_demo(session)
        for code, division in BUREAUS:
            register_institution(session, actor=HUB_OPERATOR, code=code, name=f"示例区卫生健康局 {division}",
                                 kind="bureau", division_code=division)
    yield hub
    close_hub(hub)


@dataclass
class Sent:
    """What the scenario sent, by name: MessageIDs and the codes the hub answered."""

    started: datetime
    ids: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str | None] = field(default_factory=dict)


class Exchange:
    def __init__(self, hub: Hub, credentials: dict[str, Credentials], hub_cert):
        self.hub, self.credentials, self.hub_cert = hub, credentials, hub_cert
        self.gate = GateMiddleware(hub)

    def post(self, body: bytes) -> tuple[int, bytes]:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/exchange", "SCRIPT_NAME": "/soap", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                   "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "text/xml; charset=utf-8"}
        status = []
        answer = b"".join(self.gate(environ, lambda s, h, exc=None: status.append(s)))
        return int(status[0].split()[0]), answer

    def submit(self, member: str, doc, *, now: datetime | None = None, extra=None) -> tuple[str, str | None]:
        message_id = f"urn:uuid:{uuid.uuid4()}"
        content = submit_document(doc)
        if extra is not None:  # a second document in the one Document: malformed
            content[0].append(extra)
        _, answer = self.post(sealed(self.credentials[member], self.hub_cert, content, message_id=message_id, now=now))
        return message_id, fault_code(answer)

    def fetch_replies(self, member: str) -> None:
        status, answer = self.post(sealed(self.credentials[member], self.hub_cert, operation("FetchReplies", Max="50"),
                                          op="FetchReplies"))
        assert status == 200, fault_code(answer)

    def process(self) -> int:
        return pipeline.process_pending(self.hub.sessions, self.hub.stages)


@pytest.fixture
def exchange(hub, credentials, monitor_pki) -> Sent:
    """The scenario of the module docstring, sent through the real exchange."""
    return send_scenario(hub, credentials, monitor_pki)


def send_scenario(hub, credentials, monitor_pki) -> Sent:
    link = Exchange(hub, credentials, load_certificate(PkiPaths.of(monitor_pki).hub_enc_cert))
    sent = Sent(started=utcnow())
    visit = document("OutpatientVisit", institution="CLINIC01", patient=PATIENT)
    for name, member, doc, changes in (
            ("processed", "CLINIC01", visit, {}),
            ("rejected", "CLINIC01", document("OutpatientVisit", institution="HOSP01", patient=PATIENT), {}),
            ("refused", "CLINIC01", visit, {"extra": document("LabReport", institution="CLINIC01", patient=PATIENT)}),
            ("expired", "CLINIC01", visit, {"now": utcnow() - timedelta(hours=1)}),
            ("lab", "HOSP01", document("LabReport", institution="HOSP01", patient=PATIENT), {})):
        sent.ids[name], sent.codes[name] = link.submit(member, doc, **changes)
    assert sent.codes == {"processed": None, "rejected": None, "refused": "exchange.document.invalid",
                          "expired": "security.timestamp.expired", "lab": None}
    assert link.process() == 3
    link.fetch_replies("CLINIC01")
    sent.ids["pending"], code = link.submit("HOSP01", document("LabReport", institution="HOSP01", patient=PATIENT))
    assert code is None
    return sent


@pytest.fixture
def api(hub):
    """``api(member).get(path)``: the monitor's routes with that member's bearer token."""
    return monitor_api(hub)


def monitor_api(hub):
    app = FastAPI()
    app.state.hub = hub
    install(app)
    app.include_router(router)
    client = TestClient(app)
    tokens: dict[str, str] = {}

    def for_member(member: str):
        if member not in tokens:
            with transaction(hub.sessions) as session:
                tokens[member] = issue(session, member=member, label="monitor test", now=utcnow())
        client.headers["Authorization"] = f"Bearer {tokens[member]}"
        return client

    return for_member


def window(sent: Sent) -> dict[str, str]:
    """A period around the scenario, as query parameters."""
    return {"since": (sent.started - timedelta(minutes=1)).isoformat(),
            "until": (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()}
