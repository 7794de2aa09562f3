"""Processors on one PostgreSQL take disjoint messages without waiting for each other
(``FOR UPDATE SKIP LOCKED``), and a processor that dies mid-chunk leaves its messages pending."""
from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import func, select, text

from hub import pipeline
from hub.audit import AuditEvent
from hub.mpi.resident_id import make_resident_id
from hub.records.models import Diagnosis, RecordDocument
from hub.records.stage import RecordsStage
from protocol.status import MessageStatus
from tests.cluster_units.processors import (ON_POSTGRES, Hold, Seen, Worker, acknowledgements, holding,
                                            second_processor_beside, statuses, store)  # noqa: F401 (fixture)
from tests.support.documents import document

pytestmark = ON_POSTGRES
PROCESSED, ACCEPTED = MessageStatus.PROCESSED.value, MessageStatus.ACCEPTED.value


def test_a_processor_skips_the_messages_another_holds_instead_of_waiting(store):
    ids = store.deliver(*[b"<x/>"] * 6)
    first, hold = holding(store, limit=3, timeout=10)
    seen = Seen()
    second = Worker(store, [seen], limit=10)
    second.start()
    try:
        second.join(5)
        assert not second.is_alive(), "the second processor waited for the messages the first one holds"
        assert second.error is None
        assert second.finished == 3 and seen.messages == ids[3:]
        assert hold.messages == ids[:3]
    finally:
        hold.release.set()
        first.join(10)
        second.join(10)
    assert first.error is None and first.finished == 3
    assert statuses(store) == {PROCESSED: 6}
    assert set(acknowledgements(store).values()) == {1} and len(acknowledgements(store)) == 6


def test_a_processor_killed_mid_chunk_leaves_its_messages_pending_for_another(store):
    ids = store.deliver(*[b"<x/>"] * 4)
    first, hold = holding(store, limit=2, timeout=10)
    with store.sessions() as session:  # the processor's connection dies, as with kill -9 of its process
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": hold.backend_pid})
    hold.release.set()
    first.join(10)
    assert first.finished == 0
    assert statuses(store) == {ACCEPTED: 4}, "the killed chunk's claim rolled back"
    seen = Seen()
    assert pipeline.process_pending(store.sessions, [seen]) == 4
    assert seen.messages == ids
    assert statuses(store) == {PROCESSED: 4}
    assert set(acknowledgements(store).values()) == {1} and len(acknowledgements(store)) == 4


def test_chunks_of_a_batch_each_claim_their_own_messages(store):
    store.deliver(*[b"<x/>"] * 7)
    seen = Seen()
    assert pipeline.process_pending(store.sessions, [seen], limit=5, commit_every=2) == 5
    assert len(seen.messages) == 5 and statuses(store) == {PROCESSED: 5, ACCEPTED: 2}
    assert pipeline.process_pending(store.sessions, [seen]) == 2
    assert sorted(seen.messages) == seen.messages and len(set(seen.messages)) == 7


def test_two_versions_of_a_document_through_two_processors_leave_the_newest(store):
    """v1 is stored; v3 and then v2 arrive and two processors take one each. v2's processor must wait for
    v3's (the document's key is locked) and then see it: v2 is stale, v3 stays current with its rows only.
    Without the key both rewrote the same stored row, the later commit winning, and both sets of rows
    stayed."""
    patient = {"resident_id": make_resident_id("33010619800101002"), "name": "合成测试乙", "sex": "2",
               "birth_date": "1980-01-01"}
    store.deliver(document("OutpatientVisit", document_id="OV-V", version=1, patient=patient))
    assert store.process() == 1
    store.deliver(document("OutpatientVisit", document_id="OV-V", version=3, patient=patient))
    first, hold = holding(store, [RecordsStage()], limit=1)
    store.deliver(document("OutpatientVisit", document_id="OV-V", version=2, patient=patient))
    second_processor_beside(store, first, hold)
    with store.sessions() as session:
        [stored] = session.scalars(select(RecordDocument)).all()
        diagnoses = session.scalar(select(func.count()).select_from(Diagnosis)
                                   .where(Diagnosis.document_ref == stored.id))
        stale = session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.event_type == "record.stale"))
    assert stored.version == 3
    assert diagnoses == 2, "the rows of one version only"
    assert stale == 1


def test_a_processor_paused_in_its_chunk_is_cut_off_after_its_idle_limit(store, monkeypatch, tmp_path, caplog):
    """``Processor`` runs its chunks with the idle limit it is given (``Settings.processing_tx_timeout_s``,
    HIE_PROCESSING_TX_TIMEOUT_S, which ``hie process`` and the in-process processor pass on): PostgreSQL
    ends the paused session, the messages are pending again, and the processor, resumed, says so in one
    line (not one "stage failed" line per message of the chunk, as if each were a bug)."""
    from hub.settings import Settings, SettingsError

    assert Settings.load(tmp_path).processing_tx_timeout_s == pipeline.TX_TIMEOUT_S == 60.0
    monkeypatch.setenv("HIE_PROCESSING_TX_TIMEOUT_S", "1.5")
    settings = Settings.load(tmp_path)
    assert settings.processing_tx_timeout_s == 1.5
    monkeypatch.setenv("HIE_PROCESSING_TX_TIMEOUT_S", "0")
    with pytest.raises(SettingsError, match="HIE_PROCESSING_TX_TIMEOUT_S"):
        Settings.load(tmp_path)
    store.deliver(*[b"<x/>"] * 3)
    hold = Hold()
    caplog.set_level(logging.ERROR, logger="hub.pipeline")
    processor = pipeline.Processor(store.sessions, [hold], interval=60,
                                   tx_timeout_s=settings.processing_tx_timeout_s).start()
    try:
        assert hold.reached.wait(10)
        deadline = time.monotonic() + 10
        while backend_alive(store, hold.backend_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not backend_alive(store, hold.backend_pid), "the paused chunk's session was not ended"
        assert statuses(store) == {ACCEPTED: 3}
        hold.release.set()  # the processor resumes
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        hold.release.set()
        processor.stop()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["processing tick failed"]
    assert statuses(store) == {ACCEPTED: 3}


def backend_alive(store, pid: int) -> bool:
    with store.sessions() as session:
        return bool(session.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                    {"pid": pid}).scalar())
