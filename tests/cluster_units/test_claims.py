"""Processors on one PostgreSQL take disjoint messages without waiting for each other
(``FOR UPDATE SKIP LOCKED``), and a processor that dies mid-chunk leaves its messages pending."""
from __future__ import annotations

from sqlalchemy import text

from hub import pipeline
from protocol.status import MessageStatus
from tests.cluster_units.processors import (ON_POSTGRES, Hold, Seen, Worker, acknowledgements, statuses,
                                            store)  # noqa: F401 (fixture)

pytestmark = ON_POSTGRES
PROCESSED, ACCEPTED = MessageStatus.PROCESSED.value, MessageStatus.ACCEPTED.value


def test_a_processor_skips_the_messages_another_holds_instead_of_waiting(store):
    ids = store.deliver(*[b"<x/>"] * 6)
    hold = Hold()
    first = Worker(store, [hold], limit=3)
    first.start()
    assert hold.reached.wait(10)
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
    hold = Hold()
    first = Worker(store, [hold], limit=2)
    first.start()
    assert hold.reached.wait(10)
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
