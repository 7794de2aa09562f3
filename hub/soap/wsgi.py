"""WSGI front of the exchange: the security gate runs on the raw bytes before spyne sees anything.

spyne then receives a fresh envelope built only from the verified, decrypted Body content, so no
header, href or wrapper of the original message can reach it.
"""
from __future__ import annotations

import io
import logging
import zlib

from lxml import etree
from spyne.server.wsgi import WsgiApplication

from ..errors import HubError
from ..exchange import audit
from ..exchange.gate import EXCHANGE, GateTrace, Service
from ..exchange.receipts import ReceiptStatus, build_receipt
from ..wssec.ns import SOAP11, q
from ..wssec.timestamps import utcnow
from .faults import fault_envelope
from .service import make_application

log = logging.getLogger(__name__)
# spyne logs whole requests and tracebacks on faults: keep message content out of logs.
for _name in ("spyne", "spyne.application", "spyne.server", "spyne.protocol"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def read_body(environ, limit: int) -> bytes:
    """Read the request body, decompressing gzip/deflate, never more than ``limit`` bytes."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    encoding = (environ.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "deflate"):
        raise HubError("transport.encoding", "unsupported content encoding")
    if _charset(environ.get("CONTENT_TYPE") or "") not in (None, "utf-8", "utf8"):
        raise HubError("transport.encoding", "charset other than UTF-8")
    # The limit holds for the bytes sent and, compressed, for the inflated size too.
    if length.isdigit() and int(length) > limit:
        raise HubError("transport.too_large", "Content-Length over the limit")
    body = stream.read(limit + 1) if not length.isdigit() else stream.read(min(int(length), limit + 1))
    if len(body) > limit:
        raise HubError("transport.too_large", "body over the limit")
    if encoding == "identity":
        return body
    # Stop inflating one byte past the limit.
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise HubError("transport.encoding", "corrupt compressed body") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise HubError("transport.too_large", "decompressed body over the limit")
    if not inflater.eof or inflater.unused_data:
        raise HubError("transport.encoding", "truncated compressed body or bytes after its end")
    return data


def _charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header (lower case), None when absent."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _plain_envelope(content: etree._Element) -> bytes:
    env = etree.Element(q(SOAP11, "Envelope"), nsmap={"soap": SOAP11})
    etree.SubElement(env, q(SOAP11, "Body")).append(content)
    return etree.tostring(env)


class GateMiddleware:
    """Runs the security gate for every POST; renders gate rejections as SOAP Faults."""

    def __init__(self, hub, app=None, *, service: Service = EXCHANGE):
        self.hub = hub
        self.app = app or WsgiApplication(make_application())
        self.service = service

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)  # WSDL
        client = environ.get("REMOTE_ADDR")
        trace = GateTrace()
        try:
            raw = read_body(environ, self.hub.settings.max_message_bytes)
            verified = self.hub.gate.admit(raw, trace=trace, service=self.service)
        except HubError as exc:
            return self._reject(exc, trace, client, start_response)
        except Exception as exc:  # a gate bug still fails closed: audited, a code, no input echoed
            log.error("gate failure: %s", type(exc).__name__)
            return self._reject(HubError("server.unavailable", "unexpected gate failure"), trace, client,
                                start_response)
        body = _plain_envelope(verified.content)
        environ.update({"hie.hub": self.hub, "hie.verified": verified, "wsgi.input": io.BytesIO(body),
                        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "text/xml; charset=utf-8"})
        environ.pop("HTTP_CONTENT_ENCODING", None)
        return self.app(environ, start_response)

    def _reject(self, exc: HubError, trace: GateTrace, client, start_response):
        code = exc.code
        try:
            audit.record_rejection(self.hub.sessions, trace=trace, code=code, client_address=client)
        except HubError as failure:
            code = failure.code
        log.info("rejected request: %s", code)  # the code only: never message content
        receipt = None
        if trace.envelope_sha256:
            receipt = build_receipt(signer=self.hub.signer, message_id=trace.message_id or "",
                                    sender=trace.sender or "", message_sha256=trace.envelope_sha256,
                                    received_at=utcnow(), status=ReceiptStatus.REJECTED, code=code)
        payload = fault_envelope(code, receipt)
        start_response("500 Internal Server Error", [("Content-Type", "text/xml; charset=utf-8"),
                                                     ("Content-Length", str(len(payload)))])
        return [payload]


__all__ = ["GateMiddleware", "read_body"]
