"""Durable inbox, audit and processing, in-process through the real WSGI stack."""
from __future__ import annotations

import gzip
import uuid
from datetime import timedelta

from lxml import etree
from sqlalchemy import select, text, update

from hub import pipeline
from hub.audit import AuditEvent
from hub.exchange.models import Message, Reply
from hub.runtime import processing_stages
from hub.store.db import transaction
from protocol.errors import HubError
from protocol.ns import HIS, q
from protocol.timestamps import utcnow
from tests.support.documents import document as canonical

from .builders import fault_code, operation, sample_document, sealed, submit_batch, submit_document
from .conftest import counts, stored


def _fail_audit_inserts(hub) -> None:
    engine = hub.sessions.kw["bind"]
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("CREATE TRIGGER no_audit BEFORE INSERT ON audit_event "
                                    "BEGIN SELECT RAISE(ABORT, 'audit store down'); END"))
        else:
            connection.execute(text("CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN "
                                    "RAISE EXCEPTION 'audit store down'; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER no_audit BEFORE INSERT ON audit_event "
                                    "FOR EACH ROW EXECUTE FUNCTION no_audit()"))


def test_accept_is_durable_and_audited(hub, post, members, hub_enc_cert):
    response = post(sealed(members["CLINIC01"], hub_enc_cert))
    assert response.status == 200 and fault_code(response.body) is None
    assert stored(hub)["inbox_message"] == 1 and stored(hub)["inbox_envelope"] == 1
    with hub.sessions() as session:
        event = session.scalars(select(AuditEvent)).one()
    assert (event.event_type, event.outcome, event.member) == ("message.accept", "success", "CLINIC01")
    assert event.cert_serial and event.client_address == "127.0.0.1" and len(event.envelope_sha256) == 64


def test_audit_failure_fails_the_request(hub, post, members, hub_enc_cert):
    _fail_audit_inserts(hub)
    before = counts(hub)
    accepted = post(sealed(members["CLINIC01"], hub_enc_cert))
    assert fault_code(accepted.body) == "server.unavailable"  # nothing acknowledged...
    assert counts(hub) == before                              # ...and nothing stored
    rejected = post(b"<not-soap/>")
    assert fault_code(rejected.body) == "server.unavailable"


def test_gzip_request_is_accepted(hub, post, members, hub_enc_cert):
    body = gzip.compress(sealed(members["HOSP01"], hub_enc_cert))
    response = post(body, headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert fault_code(response.body) is None and stored(hub)["inbox_message"] == 1


def test_batch_limits(hub, post, members, hub_enc_cert):
    too_many = submit_batch([(f"urn:uuid:{uuid.uuid4()}", sample_document()) for _ in range(201)])
    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, too_many, op="SubmitBatch")).body) \
        == "exchange.batch.too_large"
    repeated = submit_batch([("urn:uuid:same", sample_document()), ("urn:uuid:same", sample_document("x"))])
    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, repeated, op="SubmitBatch")).body) \
        == "exchange.batch.invalid"
    empty_document = operation("SubmitDocument", Document="just text")
    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, empty_document)).body) \
        == "exchange.document.invalid"
    assert stored(hub)["inbox_message"] == 0


def _relative_namespace_document() -> etree._Element:
    """Well-formed XML that exclusive c14n refuses (a relative namespace URI): not storable as signed."""
    return etree.fromstring(b'<Note xmlns="urn:hie:doc:v1" xmlns:x="relative/ns" synthetic="true"><x:Text>t</x:Text></Note>')


def test_uncanonicalizable_document_is_refused_alone(hub, post, members, hub_enc_cert):
    single = post(sealed(members["CLINIC01"], hub_enc_cert, submit_document(_relative_namespace_document())))
    assert fault_code(single.body) == "exchange.document.invalid"
    assert stored(hub)["inbox_message"] == 0
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(3)]
    batch = submit_batch([(ids[0], sample_document("a")), (ids[1], _relative_namespace_document()),
                          (ids[2], sample_document("c"))])
    answer = post(sealed(members["CLINIC01"], hub_enc_cert, batch, op="SubmitBatch"))
    assert answer.status == 200 and fault_code(answer.body) is None
    receipts = etree.fromstring(answer.body).findall(f".//{q(HIS, 'Receipt')}")
    assert [(r.findtext(q(HIS, "MessageId")), r.findtext(q(HIS, "Status")), r.findtext(q(HIS, "Code")) or "")
            for r in receipts] == [(ids[0], "accepted", ""), (ids[1], "rejected", "exchange.document.invalid"),
                                   (ids[2], "accepted", "")]
    with hub.sessions() as session:
        assert sorted(session.scalars(select(Message.message_id))) == sorted([ids[0], ids[2]])
        events = session.execute(select(AuditEvent.event_type, AuditEvent.message_id, AuditEvent.code)
                                 .where(AuditEvent.message_id.in_(ids))).all()
    assert sorted(events, key=lambda e: e[1]) == sorted([("message.accept", ids[0], None),
                                                         ("message.reject", ids[1], "exchange.document.invalid"),
                                                         ("message.accept", ids[2], None)], key=lambda e: e[1])


def test_operation_parameters_spyne_cannot_read_get_a_code(hub, post, members, hub_enc_cert):
    """spyne words its own Faults from the input ("Could not cast '…' to integer"): the hub's code instead."""
    marker = f"EVIL-{uuid.uuid4().hex[:8]}"
    before = counts(hub)
    answer = post(sealed(members["CLINIC01"], hub_enc_cert, operation("FetchReplies", Max=marker), op="FetchReplies"))
    assert (answer.status, fault_code(answer.body)) == (500, "soap.operation.invalid")
    assert marker.encode() not in answer.body
    receipt = etree.fromstring(answer.body).find(f".//{q(HIS, 'Receipt')}")
    assert (receipt.findtext(q(HIS, "Status")), receipt.findtext(q(HIS, "Code"))) == ("rejected", "soap.operation.invalid")
    with hub.sessions() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (event.event_type, event.outcome, event.code, event.member) == \
        ("request.reject", "failure", "soap.operation.invalid", "CLINIC01")
    assert counts(hub)["audit_event"] == before["audit_event"] + 1


def test_pending_messages_are_processed_after_restart(hub, post, members, hub_enc_cert):
    # The hub fixture runs no processor: accepted messages stay pending, as after a crash.
    for version in (1, 2, 3):
        visit = submit_document(canonical("OutpatientVisit", institution="CLINIC01", version=version))
        assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, visit)).body) is None
    with hub.sessions() as session:
        assert {m.status for m in session.scalars(select(Message))} == {"accepted"}
    assert pipeline.process_pending(hub.sessions, processing_stages()) == 3
    assert pipeline.process_pending(hub.sessions, processing_stages()) == 0  # nothing processed twice
    with hub.sessions() as session:
        assert {m.status for m in session.scalars(select(Message))} == {"processed"}
        assert session.scalar(select(Reply.kind).limit(1)) == "ack"


def test_failing_stage_rejects_with_its_code(hub, post, members, hub_enc_cert):
    class Refuse(pipeline.Stage):
        def apply(self, session, messages, now, prepared):
            session.add(Reply(reply_id="half-written", member="X", kind="x", content=b"", created_at=utcnow()))
            raise HubError("exchange.document.invalid", "test stage")

    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert)).body) is None
    assert pipeline.process_pending(hub.sessions, [Refuse()]) == 1
    with hub.sessions() as session:
        message = session.scalars(select(Message)).one()
        assert (message.status, message.error_code) == ("rejected", "exchange.document.invalid")
        replies = session.scalars(select(Reply)).all()
    assert [r.reply_id for r in replies if r.reply_id == "half-written"] == []  # stage work rolled back
    ack = etree.fromstring(replies[0].content)
    assert ack.findtext("{urn:hie:exchange:v1}Code") == "exchange.document.invalid"


def test_get_status_replay_and_nonce_pruning(hub, post, members, hub_enc_cert):
    post(sealed(members["CLINIC01"], hub_enc_cert, message_id="urn:uuid:doc-1"))
    request = sealed(members["CLINIC01"], hub_enc_cert, operation("GetStatus", MessageId="urn:uuid:doc-1"),
                     op="GetStatus")
    first = post(request)
    assert fault_code(first.body) is None and b"accepted" in first.body
    assert etree.fromstring(first.body).find(f".//{q(HIS, 'Receipt')}") is not None
    assert fault_code(post(request).body) == "security.replay"
    assert hub.nonces.prune(utcnow() + timedelta(minutes=10)) == 1


def test_reply_ids_follow_the_order_the_processor_queued_them(hub, post, members, hub_enc_cert):
    # Time-ordered ids: each processed chunk appends to the reply_id index instead of touching a
    # random leaf page per message. Two passes, so the second pass's ids must sort after the first's.
    for _ in range(2):
        items = [(f"urn:uuid:{uuid.uuid4()}", sample_document()) for _ in range(3)]
        assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, submit_batch(items), op="SubmitBatch")).body) is None
        assert pipeline.process_pending(hub.sessions, processing_stages()) == 3
    with hub.sessions() as session:
        ids = session.scalars(select(Reply.reply_id).order_by(Reply.id)).all()
    assert len(ids) == 6 and len(set(ids)) == 6
    assert all(reply_id.startswith("reply-") and len(reply_id) == 38 for reply_id in ids)
    assert ids == sorted(ids)
    assert [uuid.UUID(reply_id[6:]).version for reply_id in ids] == [7] * 6


def test_unexpected_stage_error_leaves_message_pending(hub, post, members, hub_enc_cert):
    class Broken(pipeline.Stage):
        def apply(self, session, messages, now, prepared):
            raise RuntimeError("a bug, not bad data")

    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert)).body) is None
    assert pipeline.process_pending(hub.sessions, [Broken()]) == 0
    with hub.sessions() as session:
        assert session.scalars(select(Message.status)).one() == "accepted"
        assert session.scalars(select(Reply)).all() == []
    assert pipeline.process_pending(hub.sessions, processing_stages()) == 0  # not before its retry_after
    with transaction(hub.sessions) as session:
        session.execute(update(Message).values(retry_after=utcnow()))
    assert pipeline.process_pending(hub.sessions, processing_stages()) == 1  # once fixed and due, it is processed
