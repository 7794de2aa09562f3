"""The exchange's SOAP operations (spyne): submit (declared for the WSDL), status, replies.

Operations read only the ``VerifiedRequest`` that the gate middleware put in the WSGI
environment — never spyne's own view of the envelope — and return pre-signed receipts/replies.
A ``HubError`` they raise becomes a Fault rendered from its code (``hub.soap.application``).
"""
from __future__ import annotations

from lxml import etree
from spyne import AnyXml, ComplexModel, Integer, ServiceBase, Unicode, rpc

from protocol.errors import HubError
from protocol.ns import HIE, q

from ..errors import ExchangeError
from . import inbox, replies
from .operation import operation_context

TNS = HIE


class BatchItem(ComplexModel):
    __namespace__ = TNS
    _type_info = [("MessageId", Unicode(min_occurs=1)), ("Document", AnyXml(min_occurs=1))]


class MessageStatusInfo(ComplexModel):
    __namespace__ = TNS
    _type_info = [("MessageId", Unicode), ("Status", Unicode), ("Code", Unicode), ("ReceivedAt", Unicode),
                  ("UpdatedAt", Unicode), ("SignedReceipt", AnyXml)]


class ExchangeService(ServiceBase):
    """区域卫生信息平台 document exchange (WS-Security profile: docs/security-profile.md)."""

    # SubmitDocument and SubmitBatch are declared here for the WSDL only: the gate middleware answers
    # them itself from the verified message (hub.soap.submit), so these bodies never run behind it.
    @rpc(AnyXml(min_occurs=1), _returns=AnyXml, _out_variable_name="Result")
    def SubmitDocument(ctx, Document):
        raise HubError("server.unavailable")

    @rpc(BatchItem.customize(max_occurs="unbounded", min_occurs=1),
         _returns=AnyXml.customize(max_occurs="unbounded"), _out_variable_name="Result")
    def SubmitBatch(ctx, Item):
        raise HubError("server.unavailable")

    @rpc(Unicode(min_occurs=1), _returns=MessageStatusInfo, _out_variable_name="Status")
    def GetStatus(ctx, MessageId):
        hub, verified, _client = operation_context(ctx)
        message_id = (verified.content.findtext(q(HIE, "MessageId")) or "").strip()
        message = inbox.status_of(hub.sessions, member=verified.member, message_id=message_id)
        if message is None:
            raise ExchangeError("exchange.message.not_found")
        from protocol.timestamps import format_utc

        return MessageStatusInfo(MessageId=message.message_id, Status=message.status, Code=message.error_code or "",
                                 ReceivedAt=format_utc(message.received_at), UpdatedAt=format_utc(message.updated_at),
                                 SignedReceipt=etree.fromstring(message.receipt))

    @rpc(Integer, _returns=AnyXml.customize(max_occurs="unbounded"), _out_variable_name="Result")
    def FetchReplies(ctx, Max):
        hub, verified, client = operation_context(ctx)
        text = (verified.content.findtext(q(HIE, "Max")) or "").strip()
        limit = min(int(text) if text.isdigit() and int(text) > 0 else hub.settings.max_fetch_replies,
                    hub.settings.max_fetch_replies)
        from cryptography import x509

        cert = x509.load_der_x509_certificate(verified.request.cert_der)
        sealed = replies.fetch(hub.sessions, verified=verified, recipient_cert=cert, signer=hub.signer,
                               limit=limit, client_address=client)
        return [etree.fromstring(item) for item in sealed]

    @rpc(Unicode.customize(max_occurs="unbounded"), _returns=Integer, _out_variable_name="Acknowledged")
    def AckReplies(ctx, ReplyId):
        hub, verified, client = operation_context(ctx)
        ids = [(e.text or "").strip() for e in verified.content.findall(q(HIE, "ReplyId"))][:1000]
        return replies.acknowledge(hub.sessions, verified=verified, reply_ids=ids, client_address=client)


__all__ = ["ExchangeService", "TNS"]
