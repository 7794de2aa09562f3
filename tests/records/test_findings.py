"""Findings: a defect that is not worth a rejection is kept beside the stored document, replaced with
its next version and reported back in the processing acknowledgement (code and field, no value)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from hub.exchange.models import Reply
from hub.records.models import Encounter, RecordDocument, RecordFinding
from protocol.findings import FINDINGS, Finding
from tests.support.documents import DOC_NS, document

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data-quality.md"
BIRTH = "/OutpatientVisit/header/patient/birthDate/@value"


def visit(birth_date: str, *, version: int = 1) -> etree._Element:
    doc = document("OutpatientVisit", document_id="OV-DQ-1", version=version)
    doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient/{{{DOC_NS}}}birthDate").set("value", birth_date)
    return doc


def findings(store) -> list[tuple[str, str, str]]:
    with store.sessions() as session:
        return [(f.institution, f.code, f.field) for f in session.scalars(select(RecordFinding).order_by(RecordFinding.id))]


def acknowledgement(store, message_row_id: int) -> etree._Element:
    from hub.exchange.models import Message

    with store.sessions() as session:
        message_id = session.get(Message, message_row_id).message_id
        reply = session.scalars(select(Reply).where(Reply.in_reply_to == message_id)).one()
        return etree.fromstring(reply.content)


def test_an_implausible_birth_date_is_stored_flagged_and_reported(store):
    [row_id] = store.deliver(visit("1013-11-13"))  # a typed 1013 for 2013
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    with store.sessions() as session:  # the clinical fact is there, counted like any other
        assert session.scalar(select(Encounter.id)) is not None
    assert findings(store) == [("CLINIC01", "record.patient.birth_date.implausible", BIRTH)]
    ack = acknowledgement(store, row_id)
    assert ack.findtext("{*}Status") == "processed" and ack.findtext("{*}Code") == ""
    assert [(f.findtext("{*}Code"), f.findtext("{*}Field")) for f in ack.findall("{*}Finding")] == [
        ("record.patient.birth_date.implausible", BIRTH)]
    assert b"1013" not in etree.tostring(ack)  # a path, never the value


def test_a_corrected_version_clears_the_finding_and_a_plausible_date_has_none(store):
    store.deliver(visit("2099-01-01"))  # born after the visit
    store.process()
    assert [code for _, code, _ in findings(store)] == ["record.patient.birth_date.implausible"]
    [row_id] = store.deliver(visit("1999-01-01", version=2))
    store.process()
    assert findings(store) == []
    assert acknowledgement(store, row_id).findall("{*}Finding") == []
    with store.sessions() as session:
        assert session.scalar(select(RecordDocument.version)) == 2


def test_a_stale_version_reports_no_findings(store):
    store.deliver(visit("1999-01-01", version=2))
    store.process()
    [stale] = store.deliver(visit("1013-11-13", version=1))
    store.process()
    assert findings(store) == [] and acknowledgement(store, stale).findall("{*}Finding") == []


def test_every_finding_code_is_registered_and_documented():
    with pytest.raises(ValueError):
        Finding("record.no.such.finding", "/x")
    text = DOCS.read_text(encoding="utf-8")
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `record.")}
    assert documented == set(FINDINGS)
