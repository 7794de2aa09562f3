"""Normalization into the OLTP store: round trips, versions, cancellation, lineage, rejections."""
from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select

from hub.audit import AuditEvent
from hub.records.models import ROW_MODELS, Diagnosis, Encounter, LabResult, RecordDocument
from hub.records.query import document_bytes, find_document
from hub.runtime import processing_stages
from tests.support.documents import DOC_NS, document, example_types

PERSONLESS = {"InstitutionMonthlyStats", "DrugMovement"}


def q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


def count(store, model, **where) -> int:
    with store.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query)


def row_counts(store) -> dict[str, int]:
    return {name: count(store, model) for name, model in ROW_MODELS.items()}


@pytest.mark.parametrize("type_name", [t for t in example_types() if t != "Cancellation"])
def test_every_example_is_stored_with_lineage(store, type_name):
    doc = document(type_name, institution="CLINIC01")
    [message_id] = store.deliver(doc)
    assert store.process() == 1
    assert store.outcome(message_id) == ("processed", None, None)
    header = doc.find(q("header"))
    with store.sessions() as session:
        stored = find_document(session, institution="CLINIC01", id_root=header.find(q("id")).get("root"),
                               document_id=header.find(q("id")).get("extension"))
        assert stored.message_row_id == message_id and stored.document_type == type_name
        assert (stored.person_id is None) == (type_name in PERSONLESS)
        assert etree.fromstring(document_bytes(session, stored)).tag == doc.tag  # the bytes it came in


def test_outpatient_visit_round_trip(store):
    doc = document("OutpatientVisit")
    store.deliver(doc)
    store.process()
    amounts = [Decimal(el.get("amount")) for el in doc.iter(q("charge"))]
    codes = sorted(el.get("code") for el in doc.iter(q("diagnosis")))
    with store.sessions() as session:
        encounter = session.scalars(select(Encounter)).one()
        assert encounter.total_amount == sum(amounts)
        assert encounter.department_code == doc.find(q("body/department")).get("code")
        assert sorted(session.scalars(select(Diagnosis.code))) == codes
        assert {d.person_id for d in session.scalars(select(Diagnosis))} == {encounter.person_id}


def test_newer_version_replaces_older_is_ignored(store):
    first = document("LabReport", document_id="LAB-1", version=1)
    second = document("LabReport", document_id="LAB-1", version=2)
    body = second.find(q("body"))
    body.remove(body.findall(q("result"))[-1])  # version 2 drops one result
    results_v2 = len(second.findall(q("body/result")))
    store.deliver(first)
    store.process()
    [newer] = store.deliver(second)
    store.process()
    assert count(store, RecordDocument) == 1 and count(store, LabResult) == results_v2
    [older] = store.deliver(document("LabReport", document_id="LAB-1", version=1))
    store.process()
    assert store.outcome(older)[0] == "processed"
    with store.sessions() as session:
        assert session.scalar(select(RecordDocument.version)) == 2
        assert session.scalar(select(RecordDocument.message_row_id)) == newer
        assert session.scalar(select(func.count()).where(AuditEvent.event_type == "record.stale")) == 1
    assert count(store, LabResult) == results_v2


def test_versions_and_cancellation_in_one_batch(store):
    cancel = document("Cancellation", document_id="CANCEL-1")
    target = cancel.find(q("body/target"))
    target.set("extension", "OV-9")
    visit = document("OutpatientVisit", document_id="OV-9", version=1)
    target.set("root", visit.find(q("header/id")).get("root"))
    store.deliver(visit, document("OutpatientVisit", document_id="OV-9", version=2), cancel)
    assert store.process() == 3
    with store.sessions() as session:
        statuses = dict(session.execute(select(RecordDocument.document_id, RecordDocument.status)).all())
    assert statuses == {"OV-9": "cancelled", "CANCEL-1": "current"}
    assert count(store, Encounter) == 0 and count(store, Diagnosis) == 0


def test_cancellation_retracts_rows_and_later_versions_are_ignored(store):
    visit = document("OutpatientVisit", document_id="OV-1")
    store.deliver(visit)
    store.process()
    assert count(store, Encounter) == 1
    cancel = document("Cancellation", document_id="CANCEL-2")
    cancel.find(q("body/target")).set("extension", "OV-1")
    cancel.find(q("body/target")).set("root", visit.find(q("header/id")).get("root"))
    store.deliver(cancel)
    store.process()
    assert count(store, Encounter) == 0 and count(store, Diagnosis) == 0
    store.deliver(document("OutpatientVisit", document_id="OV-1", version=5))
    store.process()
    assert count(store, Encounter) == 0  # a retracted document stays retracted


def test_cancelling_an_unknown_document_is_rejected(store):
    cancel = document("Cancellation", document_id="CANCEL-3")
    cancel.find(q("body/target")).set("extension", "NO-SUCH-DOC")
    [message] = store.deliver(cancel)
    store.process()
    assert store.outcome(message) == ("rejected", "record.cancel.unknown", "/Cancellation/body/target")
    assert count(store, RecordDocument) == 0


def test_author_must_be_the_sender(store):
    [message] = store.deliver(document("OutpatientVisit", institution="HOSP01"), member="CLINIC01")
    store.process()
    status, code, field = store.outcome(message)
    assert (status, code) == ("rejected", "record.author.mismatch") and field.endswith("/author/institution/@code")


def test_bad_documents_are_rejected_and_nothing_half_written(store):
    bad_id = document("OutpatientVisit", document_id="OV-BAD-ID", patient={"name": "合成甲"})  # no identity at all
    invalid = document("OutpatientVisit", document_id="OV-INVALID")
    invalid.find(q("body")).remove(invalid.find(q("body/visitTime")))
    good = document("OutpatientVisit", document_id="OV-GOOD")
    ids = store.deliver(bad_id, invalid, good)
    assert store.process() == 3
    assert store.outcome(ids[0])[:2] == ("rejected", "record.patient.invalid")
    status, code, field = store.outcome(ids[1])
    assert (status, code) == ("rejected", "record.schema.invalid") and field.startswith("/OutpatientVisit/body")
    assert store.outcome(ids[2])[0] == "processed"
    assert count(store, RecordDocument) == 1 and count(store, Encounter) == 1
    with store.sessions() as session:
        rejects = session.scalars(select(AuditEvent.code).where(AuditEvent.event_type == "message.reject")).all()
    assert sorted(rejects) == ["record.patient.invalid", "record.schema.invalid"]


def test_unknown_document_type_is_rejected(store):
    [message] = store.deliver(b'<Note xmlns="urn:hie:doc:v1"><Text>x</Text></Note>')
    store.process()
    assert store.outcome(message)[:2] == ("rejected", "record.type.unknown")
    assert sum(row_counts(store).values()) == 0


@pytest.mark.parametrize("type_name", [t for t in example_types() if t != "Cancellation"])
def test_rows_are_stored_as_sqlalchemy_stores_them(store, type_name):
    """The store writes through the driver; what lands must be what SQLAlchemy itself would write
    (on SQLite: the text of times, dates and amounts), or ORM readers and the ETL would misread it."""
    from sqlalchemy import text

    store.deliver(document(type_name))
    assert store.process() == 1
    with store.sessions() as session:
        checked = 0
        for model in (RecordDocument, *ROW_MODELS.values()):
            table = model.__table__
            for row in session.execute(select(table)).mappings().all():
                values = {key: value for key, value in row.items() if key != "id"}
                if model is RecordDocument:
                    values["document_id"] += "-copy"  # unique key
                copy = session.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()
                raw = [session.execute(text(f"SELECT * FROM {table.name} WHERE id = :id"), {"id": ref}).one()
                       for ref in (row["id"], copy)]
                columns = [c for c in raw[0]._fields if c not in ("id", "document_id")]
                assert [getattr(raw[0], c) for c in columns] == [getattr(raw[1], c) for c in columns], table.name
                checked += 1
        session.rollback()
    assert checked >= 1


def test_chunks_are_short_while_submissions_arrive_and_whole_otherwise(store, monkeypatch):
    """While messages keep arriving the processor commits LIVE_COMMIT messages at a time, each
    chunk prepared on its own; with nothing new since its last look, a batch is one transaction.
    SQLite only: PostgreSQL has no write lock to share, and claims CLAIM_CHUNK messages a transaction
    (tests/cluster_units/test_claims.py)."""
    from hub import pipeline

    if store.sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the write lock's chunking is SQLite's")

    chunks, real = [], pipeline._commit_chunk

    def counted(sessions, stages, candidates, prepared):
        chunks.append(len(candidates))
        assert set(prepared[0]) == {m.id for m in candidates}
        return real(sessions, stages, candidates, prepared)

    monkeypatch.setattr(pipeline, "_commit_chunk", counted)
    first = store.deliver(*[document("OutpatientVisit", document_id=f"FIRST-{i}") for i in range(30)])
    assert pipeline.process_pending(store.sessions, processing_stages(), limit=25) == 25  # first look: nothing known yet
    assert chunks == [25]
    chunks.clear()
    assert pipeline.process_pending(store.sessions, processing_stages(), limit=25) == 5  # nothing arrived since
    assert chunks == [5]
    chunks.clear()
    live = store.deliver(*[document("OutpatientVisit", document_id=f"LIVE-{i}") for i in range(47)])
    assert pipeline.process_pending(store.sessions, processing_stages(), limit=500) == 47  # 47 arrived since the last look
    whole, rest = divmod(47, pipeline.LIVE_COMMIT)
    assert 1 < pipeline.LIVE_COMMIT < 47 and rest  # the chunks below are more than one, one of them short
    assert chunks == [pipeline.LIVE_COMMIT] * whole + [rest]
    assert {store.outcome(row)[0] for row in first + live} == {"processed"}
