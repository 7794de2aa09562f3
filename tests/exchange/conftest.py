"""Fixtures for the exchange: one PKI per session (with bad certificates), a hub per test and backend.

Certificates in the session PKI (all generated here, nothing committed):
  CLINIC01  RSA-2048 member          HOSP01    EC P-256 member
  REVOKED01 revoked member           EXPIRED01 expired member      NOTYET01 not yet valid
  NOSIGN01  key usage without digitalSignature
  FOREIGN01 issued by another CA (``foreign_pki``)
"""
from __future__ import annotations

import asyncio
import io
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certs import PkiPaths, init_pki, issue_member, revoke_member
from hub.audit import AuditEvent
from hub.exchange.models import Envelope, Message, Reply, RequestNonce
from hub.runtime import Hub
from hub.settings import Settings
from hub.soap.asgi import SoapFront
from hub.soap.wsgi import GateMiddleware
from protocol.credentials import Credentials, load_certificate
from tests.support import asgi
from tests.support.migrated import copy_migrated

GOOD = ("CLINIC01", "HOSP01")


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("foreign-pki")
    init_pki(root, hub_name="Foreign CA")
    issue_member(root, member="FOREIGN01")
    return root


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    init_pki(root, hub_name="测试区域卫生信息平台")
    now = datetime.now(timezone.utc)
    issue_member(root, member="CLINIC01", member_name="测试社区卫生服务中心")
    issue_member(root, member="HOSP01", member_name="测试医院", key_type="ec-p256")
    issue_member(root, member="REVOKED01")
    revoke_member(root, member="REVOKED01", reason="keyCompromise")
    issue_member(root, member="EXPIRED01", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    issue_member(root, member="NOTYET01", not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))
    issue_member(root, member="NOSIGN01", key_usage_override=("keyEncipherment",))
    return root


@pytest.fixture(scope="session")
def members(pki_dir, foreign_pki) -> dict[str, Credentials]:
    found = {}
    for root in (pki_dir, foreign_pki):
        for member in sorted((root / "members").iterdir()):
            found[member.name] = Credentials.from_files(member / "cert.pem", member / "key.pem")
    return found


@pytest.fixture(scope="session")
def hub_paths(pki_dir) -> PkiPaths:
    return PkiPaths.of(pki_dir)


@pytest.fixture(scope="session")
def hub_enc_cert(hub_paths):
    return load_certificate(hub_paths.hub_enc_cert)


@pytest.fixture
def hub(request, tmp_path, db_url, pki_dir) -> Hub:
    """A hub process's parts on the test's database (SQLite or PostgreSQL), processor not started."""
    copy_migrated(request, db_url)
    settings = Settings(data_dir=tmp_path, database_url=db_url, pki_dir=pki_dir, start_processor=False)
    hub = Hub.open(settings, run_migrations=False)  # a copy of the migrated database: nothing to migrate
    yield hub
    hub.sessions.kw["bind"].dispose()


@dataclass
class WsgiResponse:
    status: int
    body: bytes


@pytest.fixture(params=["wsgi", "asgi"])
def post(request, hub):
    """POST raw bytes to the exchange in-process, through either front.

    ``wsgi``: the gate middleware (+ spyne), as a WSGI server would call it. ``asgi``: the SOAP
    front that ``hie serve`` runs, which serves submissions on its event loop; the body arrives
    in 64 KiB chunks. Both must answer every request alike.
    """
    if request.param == "wsgi":
        yield _wsgi_poster(GateMiddleware(hub))
        return
    front = SoapFront(hub, {"exchange": GateMiddleware(hub)}, max_body=hub.settings.max_message_bytes)
    yield _asgi_poster(front)
    front.executor.shutdown()


def _wsgi_poster(app):
    def _post(data: bytes, *, headers: dict | None = None) -> WsgiResponse:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/exchange", "SCRIPT_NAME": "/soap", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data),
                   "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(data)),
                   "CONTENT_TYPE": "text/xml; charset=utf-8"}
        environ.update(headers or {})
        status = []
        body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
        return WsgiResponse(int(status[0].split()[0]), body)

    return _post


def _asgi_poster(front):
    def _post(data: bytes, *, headers: dict | None = None) -> WsgiResponse:
        fields = {"content-type": "text/xml; charset=utf-8", "content-length": str(len(data))}
        for key, value in (headers or {}).items():  # the WSGI names the attack corpus uses
            name = (key[5:] if key.startswith("HTTP_") else key).lower().replace("_", "-")
            if value:
                fields[name] = value
            else:
                fields.pop(name, None)
        return WsgiResponse(*asyncio.run(asgi.post(front, data, headers=fields, chunk=64 * 1024)))

    return _post


def counts(hub: Hub) -> dict[str, int]:
    """Row counts of every exchange table (what a rejection must leave unchanged)."""
    with hub.sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Envelope, Message, Reply, RequestNonce, AuditEvent)}


def stored(hub: Hub) -> dict[str, int]:
    """Counts of what a request itself may store: inbox envelopes, messages, nonces.

    (Audit events are written for rejections too; replies appear when the processor runs.)
    """
    return {k: v for k, v in counts(hub).items() if k not in ("audit_event", "outbox_reply")}


@pytest.fixture
def live_hub(request, tmp_path, db_url, pki_dir):
    """A hub served over real HTTP by uvicorn in a thread; yields its exchange URL."""
    import socket

    import uvicorn

    from hub.web.app import create_app

    copy_migrated(request, db_url)
    # the processor polls every 50 ms and the workflows' runner may pass as often (not every 2 s): a test
    # waiting for a notice waited up to a runner's interval for each step of its scenario
    settings = Settings(data_dir=tmp_path, database_url=db_url, pki_dir=pki_dir, processing_interval_s=0.05,
                        workflow_interval_s=0.05)
    hub = Hub.open(settings, run_migrations=False)
    app = create_app(settings, hub=hub)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield LiveHub(url=f"http://127.0.0.1:{port}/soap/exchange", hub=hub)
    server.should_exit = True
    thread.join(timeout=10)
    hub.sessions.kw["bind"].dispose()


@dataclass
class LiveHub:
    url: str
    hub: Hub


@pytest.fixture
def client_for(live_hub, members, hub_paths):
    """``client_for("CLINIC01")`` → a HubClient for that member against the live hub."""
    from adapters.client import HubClient

    def _client(code: str) -> HubClient:
        return HubClient(live_hub.url, credentials=members[code], hub_cert=hub_paths.hub_enc_cert,
                         ca_cert=hub_paths.ca_cert)

    return _client
