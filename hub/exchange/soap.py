"""The exchange service (spyne): WSDL, dispatch, response and fault serialization.

Operations read only the ``VerifiedMessage`` that the gate middleware put in the WSGI
environment — never spyne's own view of the envelope — and return pre-signed receipts/replies.
"""
from __future__ import annotations

import logging
import sys

import spyne.const
from lxml import etree
from spyne import AnyXml, Application, ComplexModel, Integer, ServiceBase, Unicode, rpc
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11

from hub.errors import ExchangeError, failure_summary
from protocol.errors import HubError
from . import inbox, replies
from .gate import VerifiedMessage
from protocol.ns import HIE, q
from ..soap.faults import fault_detail

TNS = HIE
# spyne runs a full gc.collect() after a request at most once a second (MethodContext.close):
# 50-70 ms with the GIL held, paid by every request in flight. Python's own generational
# collector is enough; the app freezes its startup objects so full collections stay short.
spyne.const.MIN_GC_INTERVAL = float("inf")
log = logging.getLogger(__name__)


class BatchItem(ComplexModel):
    __namespace__ = TNS
    _type_info = [("MessageId", Unicode(min_occurs=1)), ("Document", AnyXml(min_occurs=1))]


class MessageStatusInfo(ComplexModel):
    __namespace__ = TNS
    _type_info = [("MessageId", Unicode), ("Status", Unicode), ("Code", Unicode), ("ReceivedAt", Unicode),
                  ("UpdatedAt", Unicode), ("SignedReceipt", AnyXml)]


def _context(ctx) -> tuple[object, VerifiedMessage]:
    env = ctx.transport.req_env
    return env["hie.hub"], env["hie.verified"]


def _client(ctx) -> str | None:
    return ctx.transport.req_env.get("REMOTE_ADDR")


def _as_fault(exc: HubError, receipt: bytes | None = None) -> Fault:
    return Fault(faultcode=exc.spec.party, faultstring=exc.message, detail=fault_detail(exc.code, receipt))


class ExchangeService(ServiceBase):
    """区域卫生信息平台 document exchange (WS-Security profile: docs/security-profile.md)."""

    # SubmitDocument and SubmitBatch are declared here for the WSDL only: the gate middleware answers
    # them itself from the verified message (hub.soap.submit), so these bodies never run behind it.
    @rpc(AnyXml(min_occurs=1), _returns=AnyXml, _out_variable_name="Result")
    def SubmitDocument(ctx, Document):
        raise _as_fault(HubError("server.unavailable"))

    @rpc(BatchItem.customize(max_occurs="unbounded", min_occurs=1),
         _returns=AnyXml.customize(max_occurs="unbounded"), _out_variable_name="Result")
    def SubmitBatch(ctx, Item):
        raise _as_fault(HubError("server.unavailable"))

    @rpc(Unicode(min_occurs=1), _returns=MessageStatusInfo, _out_variable_name="Status")
    def GetStatus(ctx, MessageId):
        hub, verified = _context(ctx)
        message_id = (verified.content.findtext(q(HIE, "MessageId")) or "").strip()
        message = inbox.status_of(hub.sessions, sender=verified.sender, message_id=message_id)
        if message is None:
            raise _as_fault(ExchangeError("exchange.message.not_found"))
        from protocol.timestamps import format_utc

        return MessageStatusInfo(MessageId=message.message_id, Status=message.status, Code=message.error_code or "",
                                 ReceivedAt=format_utc(message.received_at), UpdatedAt=format_utc(message.updated_at),
                                 SignedReceipt=etree.fromstring(message.receipt))

    @rpc(Integer, _returns=AnyXml.customize(max_occurs="unbounded"), _out_variable_name="Result")
    def FetchReplies(ctx, Max):
        hub, verified = _context(ctx)
        text = (verified.content.findtext(q(HIE, "Max")) or "").strip()
        limit = min(int(text) if text.isdigit() and int(text) > 0 else hub.settings.max_fetch_replies,
                    hub.settings.max_fetch_replies)
        from cryptography import x509

        cert = x509.load_der_x509_certificate(verified.request.cert_der)
        try:
            sealed = replies.fetch(hub.sessions, verified=verified, recipient_cert=cert, signer=hub.signer,
                                   limit=limit, client_address=_client(ctx))
        except HubError as exc:
            raise _as_fault(exc) from None
        return [etree.fromstring(item) for item in sealed]

    @rpc(Unicode.customize(max_occurs="unbounded"), _returns=Integer, _out_variable_name="Acknowledged")
    def AckReplies(ctx, ReplyId):
        hub, verified = _context(ctx)
        ids = [(e.text or "").strip() for e in verified.content.findall(q(HIE, "ReplyId"))][:1000]
        return replies.acknowledge(hub.sessions, verified=verified, reply_ids=ids, client_address=_client(ctx))


class HubApplication(Application):
    """spyne Application whose unexpected errors become ``server.unavailable`` Faults.

    spyne would otherwise put the exception's text (which may quote SQL parameters, i.e.
    patient data) into the Fault; here only the machine code leaves the process.
    """

    def call_wrapper(self, ctx):
        try:
            return super().call_wrapper(ctx)
        except Fault:
            raise
        except HubError as exc:
            raise _as_fault(exc) from None
        except Exception:
            log.error("operation failed: %s", failure_summary(sys.exc_info()[1]))  # where, never the message
            raise _as_fault(HubError("server.unavailable")) from None


def make_application() -> Application:
    return HubApplication([ExchangeService], tns=TNS, name="Exchange",
                          in_protocol=Soap11(validator=None), out_protocol=Soap11())


__all__ = ["ExchangeService", "make_application", "TNS"]
