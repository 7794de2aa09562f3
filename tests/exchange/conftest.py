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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certs import PkiPaths, init_pki, issue_member, revoke_member
from hub.audit import AuditEvent
from hub.exchange.models import Envelope, Message, Reply, RequestNonce
from hub.runtime import Hub
from hub.soap.asgi import SoapFront
from hub.soap.wsgi import GateMiddleware
from protocol.credentials import Credentials, load_certificate
from tests.support import asgi
from tests.support.hubs import close_hub, open_hub, served

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
    hub = open_hub(request, tmp_path, db_url, pki_dir)  # a copy of the migrated database: nothing to migrate
    yield hub
    close_hub(hub)


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
    yield from serve_live_hub(request, tmp_path, db_url, pki_dir)


def serve_live_hub(request, data_dir, db_url: str, pki_dir):
    """``live_hub``'s recipe, for a module that shares one live hub among its tests (module scope)."""
    from hub.web.app import create_app

    # the processor polls every 50 ms and the workflows' runner may pass as often (not every 2 s): a test
    # waiting for a notice waited up to a runner's interval for each step of its scenario
    # (one processor: no other node's clock to allow for, so no settle time on PostgreSQL either)
    hub = open_hub(request, data_dir, db_url, pki_dir, start_processor=True, processing_interval_s=0.05,
                   workflow_interval_s=0.05, workflow_settle_s=0.0)
    try:
        with served(create_app(hub.settings, hub=hub)) as base:
            yield LiveHub(url=f"{base}/soap/exchange", hub=hub)
    finally:
        close_hub(hub)


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
