"""The exchange end to end over real HTTP with the client library, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import time
import uuid

import pytest
from lxml import etree
from sqlalchemy import select

from adapters.errors import HubFault
from hub.audit import AuditEvent
from hub.exchange.models import Envelope, Message
from tests.support.documents import document as canonical

from .builders import sample_document
from .conftest import stored


@pytest.mark.parametrize("member", ["CLINIC01", "HOSP01"])
def test_submit_resend_and_reuse(live_hub, client_for, member):
    client = client_for(member)
    message_id = f"urn:uuid:{uuid.uuid4()}"
    receipt = client.submit(sample_document(), message_id=message_id)
    assert receipt.accepted and receipt.member == member and receipt.message_id == message_id
    before = stored(live_hub.hub)
    # A resend re-signed with a fresh timestamp gets the very same receipt and stores nothing.
    assert client.submit(sample_document(), message_id=message_id) == receipt
    assert stored(live_hub.hub) == before
    # The same MessageID with another document is refused with its own code and a signed receipt.
    with pytest.raises(HubFault) as refused:
        client.submit(sample_document("另一份文档"), message_id=message_id)
    assert refused.value.code == "exchange.message_id.reused"
    assert refused.value.receipt.status == "rejected" and refused.value.receipt.code == "exchange.message_id.reused"
    assert stored(live_hub.hub) == before


def test_raw_bytes_and_plaintext_are_kept(live_hub, client_for):
    client = client_for("CLINIC01")
    receipt = client.submit(sample_document("原文保存"))
    with live_hub.hub.sessions() as session:
        message = session.scalars(select(Message).where(Message.message_id == receipt.message_id)).one()
        raw = session.get(Envelope, message.envelope_id).raw
    assert hashlib.sha256(raw).hexdigest() == receipt.message_sha256
    assert "原文保存".encode() in message.document
    assert b"CipherValue" in raw and "原文保存".encode() not in raw  # kept encrypted as signed


def test_batch_receipts_one_each(live_hub, client_for):
    client = client_for("HOSP01")
    items = [(f"urn:uuid:{uuid.uuid4()}", sample_document(f"批量 {i}")) for i in range(5)]
    receipts = client.submit_batch(items)
    assert [r.message_id for r in receipts] == [mid for mid, _ in items]
    assert all(r.accepted for r in receipts)
    # Resending the batch with one changed document: four originals, one refusal.
    items[2] = (items[2][0], sample_document("改过的"))
    again = client.submit_batch(items)
    assert [r.status for r in again] == ["accepted", "accepted", "rejected", "accepted", "accepted"]
    assert again[0] == receipts[0] and again[2].code == "exchange.message_id.reused"


def test_status_replies_and_ack(live_hub, client_for):
    clinic, hospital = client_for("CLINIC01"), client_for("HOSP01")
    receipt = clinic.submit(canonical("OutpatientVisit", institution="CLINIC01"))
    hospital.submit(canonical("LabReport", institution="HOSP01"))
    deadline = time.monotonic() + 10
    while clinic.status(receipt.message_id).status != "processed" and time.monotonic() < deadline:
        time.sleep(0.05)
    state = clinic.status(receipt.message_id)
    assert state.status == "processed" and state.receipt == receipt
    replies = clinic.fetch_replies()
    assert [r.in_reply_to for r in replies] == [receipt.message_id]
    ack = etree.fromstring(replies[0].content)
    assert ack.findtext("{urn:hie:exchange:v1}Status") == "processed"
    # Replies are per organization: the hospital does not see the clinic's.
    assert all(r.in_reply_to != receipt.message_id for r in hospital.fetch_replies())
    assert clinic.ack_replies([r.reply_id for r in replies]) == 1
    assert clinic.fetch_replies() == []
    with pytest.raises(HubFault) as missing:
        hospital.status(receipt.message_id)  # another sender's message is not visible
    assert missing.value.code == "exchange.message.not_found"
    with live_hub.hub.sessions() as session:
        events = set(session.scalars(select(AuditEvent.event_type)))
    assert {"message.accept", "reply.fetch", "reply.ack"} <= events


def test_wsdl_is_served(live_hub):
    import requests

    wsdl = requests.get(live_hub.url + "?wsdl", timeout=10)
    assert wsdl.status_code == 200
    names = set(etree.fromstring(wsdl.content).xpath("//*[local-name()='operation']/@name"))
    assert {"SubmitDocument", "SubmitBatch", "GetStatus", "FetchReplies", "AckReplies"} <= names
