"""The durable inbox: documents are committed (with their raw signed envelope) before any receipt.

A resend of the same (sender, MessageID) with the same document gets its original receipt back
and stores nothing; the same MessageID with a different document is refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import StoreError
from ..store.models import Envelope, Message, MessageStatus
from ..wssec.credentials import Credentials
from . import audit
from .gate import VerifiedMessage
from .receipts import ReceiptStatus, build_receipt


@dataclass(frozen=True)
class DocumentItem:
    """One document of a request, as the gate returned it."""

    message_id: str
    document: etree._Element

    @property
    def canonical(self) -> bytes:
        return etree.tostring(self.document, method="c14n", exclusive=True, with_comments=False)


@dataclass(frozen=True)
class ItemOutcome:
    message_id: str
    receipt: bytes
    status: str  # "accepted", "duplicate", "rejected"
    code: str = ""


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def accept(sessions: sessionmaker[Session], *, verified: VerifiedMessage, items: list[DocumentItem],
           signer: Credentials, client_address: str | None) -> list[ItemOutcome]:
    """Store new documents and their receipts in one durable commit; return a receipt per item."""
    prepared = [(item, item.canonical) for item in items]
    for attempt in range(3):
        try:
            return _accept_once(sessions, verified=verified, prepared=prepared, signer=signer,
                                client_address=client_address)
        except IntegrityError:
            continue  # a concurrent resend won the race: the next pass finds its row
        except SQLAlchemyError:
            raise StoreError("server.unavailable", "database write failed") from None
    raise StoreError("server.unavailable", "could not settle concurrent submissions")


def _accept_once(sessions, *, verified, prepared, signer, client_address) -> list[ItemOutcome]:
    sender = verified.sender
    outcomes: list[ItemOutcome] = []
    with sessions() as session, session.begin():
        ids = [item.message_id for item, _ in prepared]
        existing = {m.message_id: m for m in session.scalars(
            select(Message).where(Message.sender == sender, Message.message_id.in_(ids)))}
        envelope = None
        for index, (item, canonical) in enumerate(prepared):
            digest = hashlib.sha256(canonical).hexdigest()
            known = existing.get(item.message_id)
            if known is not None:
                if known.document_sha256 == digest:
                    outcomes.append(ItemOutcome(item.message_id, known.receipt, "duplicate"))
                    audit.record(session, "message.duplicate", verified=verified, message_id=item.message_id,
                                 client_address=client_address)
                else:
                    code = "exchange.message_id.reused"
                    receipt = build_receipt(signer=signer, message_id=item.message_id, sender=sender,
                                            message_sha256=verified.envelope_sha256, document_sha256=digest,
                                            received_at=verified.received_at, status=ReceiptStatus.REJECTED,
                                            code=code)
                    outcomes.append(ItemOutcome(item.message_id, receipt, "rejected", code))
                    audit.record(session, "message.reject", verified=verified, message_id=item.message_id,
                                 client_address=client_address, code=code)
                continue
            if envelope is None:
                envelope = Envelope(sha256=verified.envelope_sha256, sender=sender,
                                    cert_serial=verified.request.sender.serial_hex,
                                    wsa_message_id=verified.request.message_id, action=verified.request.action,
                                    received_at=verified.received_at, client_address=client_address,
                                    raw=verified.raw)
                session.add(envelope)
                session.flush()
            receipt = build_receipt(signer=signer, message_id=item.message_id, sender=sender,
                                    message_sha256=verified.envelope_sha256, document_sha256=digest,
                                    received_at=verified.received_at, status=ReceiptStatus.ACCEPTED)
            message = Message(sender=sender, message_id=item.message_id, envelope_id=envelope.id, item_index=index,
                              document_type=_local_name(item.document), document_sha256=digest,
                              document=canonical, status=MessageStatus.ACCEPTED.value,
                              received_at=verified.received_at, updated_at=verified.received_at, receipt=receipt)
            session.add(message)
            existing[item.message_id] = message
            outcomes.append(ItemOutcome(item.message_id, receipt, "accepted"))
            audit.record(session, "message.accept", verified=verified, message_id=item.message_id,
                         client_address=client_address)
    return outcomes


def status_of(sessions: sessionmaker[Session], *, sender: str, message_id: str) -> Message | None:
    """The sender's own message by MessageID (None if unknown)."""
    with sessions() as session:
        return session.scalars(select(Message).where(Message.sender == sender,
                                                     Message.message_id == message_id)).first()


__all__ = ["DocumentItem", "ItemOutcome", "accept", "status_of"]
