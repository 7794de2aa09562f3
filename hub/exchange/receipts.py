"""Receipts: what the hub signs back for every submitted document (accepted or rejected)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from ..wssec.credentials import Credentials
from ..wssec.ns import HIS, q
from ..wssec.signed_element import sign_element, verify_element
from ..wssec.timestamps import format_utc, parse_utc


class ReceiptStatus:
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReceiptInfo:
    """The fields of a verified receipt."""

    message_id: str
    sender: str
    message_sha256: str
    document_sha256: str
    received_at: datetime | None
    status: str
    code: str

    @property
    def accepted(self) -> bool:
        return self.status == ReceiptStatus.ACCEPTED


def build_receipt(*, signer: Credentials, message_id: str = "", sender: str = "", message_sha256: str,
                  document_sha256: str = "", received_at: datetime, status: str, code: str = "") -> bytes:
    """Build and sign a receipt; returns its serialized bytes (stored and replayed verbatim)."""
    receipt = etree.Element(q(HIS, "Receipt"), {"Id": f"receipt-{uuid.uuid4().hex}"}, nsmap={"his": HIS})
    for local, text in (("MessageId", message_id), ("Sender", sender), ("MessageSha256", message_sha256),
                        ("DocumentSha256", document_sha256), ("ReceivedAt", format_utc(received_at)),
                        ("Status", status), ("Code", code)):
        etree.SubElement(receipt, q(HIS, local)).text = text
    sign_element(receipt, signer=signer)
    return etree.tostring(receipt, encoding="utf-8")


def read_receipt(element: etree._Element, *, check_signer) -> ReceiptInfo:
    """Verify a receipt's hub signature and return its fields."""
    verify_element(element, check_signer=check_signer)

    def text(local: str) -> str:
        return (element.findtext(q(HIS, local)) or "").strip()

    return ReceiptInfo(message_id=text("MessageId"), sender=text("Sender"), message_sha256=text("MessageSha256"),
                       document_sha256=text("DocumentSha256"), received_at=parse_utc(text("ReceivedAt")),
                       status=text("Status"), code=text("Code"))


__all__ = ["ReceiptStatus", "ReceiptInfo", "build_receipt", "read_receipt"]
