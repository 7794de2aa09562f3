"""Receipts: what the hub signs back for every submitted document (accepted or rejected)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from .credentials import Credentials
from .ns import HIS, q
from .signed_element import signed_flat_element, verify_element
from .status import ReceiptStatus
from .timestamps import format_utc, parse_utc


@dataclass(frozen=True)
class ReceiptInfo:
    """The fields of a verified receipt."""

    message_id: str
    member: str
    message_sha256: str
    document_sha256: str
    received_at: datetime | None
    status: str
    code: str

    @property
    def accepted(self) -> bool:
        return self.status == ReceiptStatus.ACCEPTED


def build_receipt(*, signer: Credentials, message_id: str = "", member: str = "", message_sha256: str,
                  document_sha256: str = "", received_at: datetime, status: ReceiptStatus, code: str = "") -> bytes:
    """Build and sign a receipt; returns its serialized bytes (stored and replayed verbatim)."""
    return signed_flat_element(HIS, "his", "Receipt", f"receipt-{uuid.uuid4().hex}", (
        ("MessageId", message_id), ("Sender", member), ("MessageSha256", message_sha256),
        ("DocumentSha256", document_sha256), ("ReceivedAt", format_utc(received_at)), ("Status", ReceiptStatus(status).value),
        ("Code", code)), signer=signer)


def read_receipt(element: etree._Element, *, check_signer) -> ReceiptInfo:
    """Verify a receipt's hub signature and return its fields."""
    verify_element(element, check_signer=check_signer)

    def text(local: str) -> str:
        return (element.findtext(q(HIS, local)) or "").strip()

    return ReceiptInfo(message_id=text("MessageId"), member=text("Sender"), message_sha256=text("MessageSha256"),
                       document_sha256=text("DocumentSha256"), received_at=parse_utc(text("ReceivedAt")),
                       status=text("Status"), code=text("Code"))


__all__ = ["ReceiptInfo", "build_receipt", "read_receipt"]
