"""What the client library makes of answers that are not the hub's: a load balancer's or proxy's page (HAProxy's
502 and 503 pages are well-formed HTML, so they parse) is a transport failure to retry, not a broken answer."""
from __future__ import annotations

import pytest

from adapters.client import HubClient
from adapters.errors import TransportError
from tests.support.hubs import member_credentials, member_pki, served

HAPROXY_502 = (b"<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n"
               b"</body></html>\n")


def _balancer_page(status: int, body: bytes):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return app


@pytest.mark.parametrize("status, body", [(502, HAPROXY_502), (503, b"<html><body>no server</body></html>"),
                                          (200, b"<?xml version='1.0'?><html/>")])
def test_a_balancers_page_is_a_transport_failure_to_retry(tmp_path, status, body):
    pki = member_pki(tmp_path / "pki", hub_name="测试区域卫生信息平台", members=["CLINIC01"])
    credentials = member_credentials(pki, ["CLINIC01"])["CLINIC01"]
    with served(_balancer_page(status, body)) as base:
        client = HubClient(f"{base}/soap/exchange", credentials=credentials, hub_cert=pki / "hub" / "enc-cert.pem",
                           ca_cert=pki / "ca" / "cert.pem", timeout=5)
        with pytest.raises(TransportError) as raised:
            client.post(b"<sealed/>")
    assert raised.value.retryable and f"HTTP {status}" in str(raised.value)
