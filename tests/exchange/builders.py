"""Build request bodies and sealed requests for tests (the same code path the client uses)."""
from __future__ import annotations

import uuid
from datetime import datetime

from lxml import etree

from hub.exchange.gate import action_for
from protocol.credentials import Credentials
from protocol.ns import HIE, q
from protocol.request import seal_request

TO = "http://127.0.0.1/soap/exchange"


def sample_document(text: str = "社区卫生服务中心 门诊") -> etree._Element:
    """A small synthetic clinical document (no real person)."""
    return etree.fromstring(f'<Note xmlns="urn:hie:doc:v1" synthetic="true"><Text>{text}</Text></Note>'.encode())


def submit_document(document: etree._Element | None = None) -> etree._Element:
    content = etree.Element(q(HIE, "SubmitDocument"), nsmap={"hie": HIE})
    etree.SubElement(content, q(HIE, "Document")).append(document if document is not None else sample_document())
    return content


def submit_batch(items: list[tuple[str, etree._Element]]) -> etree._Element:
    content = etree.Element(q(HIE, "SubmitBatch"), nsmap={"hie": HIE})
    for message_id, document in items:
        item = etree.SubElement(content, q(HIE, "Item"))
        etree.SubElement(item, q(HIE, "MessageId")).text = message_id
        etree.SubElement(item, q(HIE, "Document")).append(document)
    return content


def operation(name: str, **children: str) -> etree._Element:
    content = etree.Element(q(HIE, name), nsmap={"hie": HIE})
    for local, text in children.items():
        etree.SubElement(content, q(HIE, local)).text = text
    return content


def sealed(member: Credentials, hub_cert, content: etree._Element | None = None, *, op: str = "SubmitDocument",
           message_id: str | None = None, now: datetime | None = None, **kwargs) -> bytes:
    """A valid signed+encrypted request from ``member`` (override any seal_request option)."""
    content = content if content is not None else submit_document()
    return seal_request(content, credentials=member, hub_cert=hub_cert, action=action_for(op), to=TO,
                        message_id=message_id or f"urn:uuid:{uuid.uuid4()}", now=now, **kwargs).data


def fault_code(body: bytes) -> str | None:
    """The machine code in a SOAP Fault answer, or None for a success."""
    root = etree.fromstring(body)
    code = root.find(f".//{q(HIE, 'Fault')}/{q(HIE, 'Code')}")
    return code.text if code is not None else None
