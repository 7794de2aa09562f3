"""WSGI front of the SOAP services: the security gate runs on the raw bytes before anything else.

Submissions (``SubmitDocument``, ``SubmitBatch``) are answered here from the verified message
(``hub.soap.submit``). Every other operation goes to spyne, which receives a fresh envelope built
only from the verified, decrypted Body content, so no header, href or wrapper of the original
message can reach it. ``hie serve`` runs the ASGI front (``hub.soap.asgi``), which uses this
middleware for everything but the exchange's submissions.
"""
from __future__ import annotations

import io
import logging
import zlib

from lxml import etree
from spyne.server.wsgi import WsgiApplication

from protocol.errors import HubError
from protocol.ns import HIE, SOAP11, q
from protocol.receipts import build_receipt
from protocol.status import ReceiptStatus
from protocol.timestamps import utcnow

from .. import audit
from ..errors import failure_summary
from ..exchange.gate import EXCHANGE, GateTrace, OpenedRequest, Service
from . import submit
from .application import exchange_application
from .faults import fault_envelope
from .wsdl import advertise_actions

log = logging.getLogger(__name__)
# spyne logs whole requests and tracebacks on faults: keep message content out of logs.
for _name in ("spyne", "spyne.application", "spyne.server", "spyne.protocol"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def read_body(environ, limit: int) -> bytes:
    """Read the request body, decompressing gzip/deflate, never more than ``limit`` bytes."""
    length = environ.get("CONTENT_LENGTH") or ""
    # The limit holds for the bytes sent and, compressed, for the inflated size too.
    if length.isdigit() and int(length) > limit:
        raise HubError("transport.too_large", "Content-Length over the limit")
    stream = environ["wsgi.input"]
    body = stream.read(limit + 1) if not length.isdigit() else stream.read(min(int(length), limit + 1))
    return decode_body(body, limit=limit, encoding=environ.get("HTTP_CONTENT_ENCODING"),
                       content_type=environ.get("CONTENT_TYPE"))


def decode_body(body: bytes, *, limit: int, encoding: str | None, content_type: str | None) -> bytes:
    """Check a whole request body's size, charset and content encoding; inflate it if compressed."""
    encoding = (encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "deflate"):
        raise HubError("transport.encoding", "unsupported content encoding")
    if _charset(content_type or "") not in (None, "utf-8", "utf8"):
        raise HubError("transport.encoding", "charset other than UTF-8")
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


class HubWsgiApplication(WsgiApplication):
    """spyne's WSGI server, whose own Faults leave as the hub's: coded, audited, never quoting input.

    spyne refuses what it cannot deserialize (``FetchReplies`` with a ``Max`` that is no integer,
    say) with a Fault worded from the input ("Could not cast '…' to integer") and no machine code.
    Behind the gate (``GateMiddleware.serve`` puts ``hie.reject`` in the environment) such a Fault
    becomes the hub's ``soap.operation.invalid`` (``server.unavailable`` if spyne failed on the way
    out), rendered, audited and receipted like every other refusal.
    """

    def handle_error(self, p_ctx, others, error, start_response):
        reject = p_ctx.transport.req_env.get("hie.reject")
        if reject is None or _coded(error):
            return super().handle_error(p_ctx, others, error, start_response)
        code = "soap.operation.invalid" if error is p_ctx.in_error else "server.unavailable"
        try:
            payload = reject(HubError(code))
        finally:
            p_ctx.close()
        return respond(start_response, 500, payload)


def _coded(error) -> bool:
    """A Fault raised by the hub's own operations (``application.as_fault``): it has its code."""
    detail = getattr(error, "detail", None)
    return isinstance(detail, etree._Element) and detail.tag == q(HIE, "Fault")


def unexpected(exc: Exception) -> HubError:
    """A gate or submit bug still fails closed: logged by type only, answered ``server.unavailable``."""
    log.error("gate failure: %s", failure_summary(exc))
    return HubError("server.unavailable", "unexpected gate failure")


class GateMiddleware:
    """Runs the security gate for every POST; answers submissions itself, hands the rest to spyne.

    Gate rejections become SOAP Faults, audited, with a signed rejection receipt once the
    envelope's digest is known.
    """

    def __init__(self, hub, app=None, *, service: Service = EXCHANGE):
        self.hub = hub
        self.app = app or HubWsgiApplication(exchange_application())
        self.service = service
        advertise_actions(self.app, service)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)  # WSDL
        trace = GateTrace()
        try:
            raw = read_body(environ, self.hub.settings.max_message_bytes)
            opened = self.hub.gate.open(raw, trace=trace, service=self.service)
        except HubError as exc:
            return self.reject(exc, trace, environ, start_response)
        except Exception as exc:
            return self.reject(unexpected(exc), trace, environ, start_response)
        return self.serve(opened, trace, environ, start_response)

    def serve(self, opened: OpenedRequest, trace: GateTrace, environ, start_response):
        """The rest of the gate for an opened request, then its operation."""
        client = environ.get("REMOTE_ADDR")
        try:
            verified = self.hub.gate.finish(opened, service=self.service)
            if verified.operation in self.service.submit_operations:
                pending = submit.prepare(self.hub, verified, client_address=client)
                self.hub.inbox.enqueue([pending])  # the writer thread's next group commit
                pending.done.wait()
                status, payload = submit.answer(self.hub, pending)
                return respond(start_response, status, payload)
        except HubError as exc:
            return self.reject(exc, trace, environ, start_response)
        except Exception as exc:
            return self.reject(unexpected(exc), trace, environ, start_response)
        body = _plain_envelope(verified.content)
        environ.update({"hie.hub": self.hub, "hie.verified": verified, "wsgi.input": io.BytesIO(body),
                        "hie.reject": lambda exc: self.rejection(exc, trace, client),
                        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "text/xml; charset=utf-8"})
        environ.pop("HTTP_CONTENT_ENCODING", None)
        return self.app(environ, start_response)

    def reject(self, exc: HubError, trace: GateTrace, environ, start_response):
        return respond(start_response, 500, self.rejection(exc, trace, environ.get("REMOTE_ADDR")))

    def rejection(self, exc: HubError, trace: GateTrace, client: str | None) -> bytes:
        """Audit a refused request (its own transaction) and render its Fault."""
        code = exc.code
        try:
            audit.record_rejection(self.hub.sessions, trace=trace, code=code, client_address=client)
        except HubError as failure:
            code = failure.code
        log.info("rejected request: %s", code)  # the code only: never message content
        receipt = None
        if trace.envelope_sha256:
            receipt = build_receipt(signer=self.hub.signer, message_id=trace.message_id or "",
                                    member=trace.member or "", message_sha256=trace.envelope_sha256,
                                    received_at=utcnow(), status=ReceiptStatus.REJECTED, code=code)
        return fault_envelope(code, receipt)


_STATUS = {200: "200 OK", 500: "500 Internal Server Error"}


def respond(start_response, status: int, payload: bytes):
    start_response(_STATUS[status], [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(payload)))])
    return [payload]


__all__ = ["GateMiddleware", "HubWsgiApplication", "read_body", "decode_body", "respond", "unexpected"]
