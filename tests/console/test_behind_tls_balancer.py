"""The console behind the balancer of docs/deployment.md, which ends TLS at HAProxy and talks plain HTTP to
the nodes: the frontend's directives as the document gives them tell a node that the browser came over TLS
(``X-Forwarded-Proto``), so the console's cookies are ``Secure`` (hub/web/console/auth.set_cookie)."""
from __future__ import annotations

import datetime
import re
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.cluster import _Child, _free_port, _haproxy, haproxy_available
from tests.support.hubs import close_hub, member_pki, open_hub, served
from tests.support.missing import missing

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def hub_server(request, tmp_path, db_url):
    """One node, served by uvicorn as ``hie serve`` serves it (proxy headers from 127.0.0.1 trusted)."""
    from hub.web.app import create_app

    pki = member_pki(tmp_path / "pki", hub_name="测试区域卫生信息平台", members=["CLINIC01"])
    hub = open_hub(request, tmp_path / "data", db_url, pki)
    try:
        with served(create_app(hub.settings, hub=hub)) as base:
            yield base
    finally:
        close_hub(hub)


def _tls_pem(path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def _documented_frontend() -> str:
    """The directives of docs/deployment.md's HAProxy frontend, but its bind and backend (the test's own)."""
    block = re.search(r"^frontend soap\n(.*?)\n\n", DEPLOYMENT.read_text(encoding="utf-8"), re.S | re.M).group(1)
    lines = [line.split("#", 1)[0].rstrip() for line in block.splitlines()]
    return "\n".join(line for line in lines if line.strip() and not line.split()[0] in ("bind", "default_backend"))


def test_the_console_cookie_behind_the_documented_tls_balancer_is_secure(hub_server, tmp_path):
    if not haproxy_available():
        missing("haproxy not found (install it with scripts/install-system-packages.sh)")
    pem, port = tmp_path / "hub.pem", _free_port()
    _tls_pem(pem)
    node = hub_server.removeprefix("http://")
    config = tmp_path / "haproxy.cfg"
    config.write_text(f"""defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend soap
    bind 127.0.0.1:{port} ssl crt {pem}
{_documented_frontend()}
    default_backend nodes

backend nodes
    server node1 {node}
""", encoding="utf-8")
    balancer = _Child("haproxy", [_haproxy(), "-db", "-f", str(config)], tmp_path / "haproxy.log", {})
    balancer.start()
    try:
        answer = None
        for _ in range(50):
            try:
                answer = requests.get(f"https://127.0.0.1:{port}/console/login", verify=False, timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200, balancer.tail()
        cookie = answer.headers.get("set-cookie", "")
        assert "hie_console_login" in cookie
        assert "secure" in cookie.lower(), f"over TLS through the documented balancer the node set: {cookie}"
    finally:
        balancer.kill()
