"""The outbox: keys are unique, MessageIDs are fixed before the first send, states move as documented."""
from __future__ import annotations

import sqlite3

from adapters.agent.outbox import FileOutcome, ItemState, NewItem, Outbox, QuarantinedBy, message_id_for


def _outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "outbox.db", member="CLINIC01")


def test_same_key_collected_twice_is_stored_once(tmp_path):
    with _outbox(tmp_path) as outbox:
        with outbox.transaction() as db:
            assert outbox.add(db, [NewItem("xml", "k1", b"<a/>"), NewItem("xml", "k2", b"<b/>")]) == 2
        with outbox.transaction() as db:
            assert outbox.add(db, [NewItem("xml", "k1", b"<a-changed/>"), NewItem("other", "k1", b"<a/>")]) == 1
        assert outbox.counts()[ItemState.PENDING.value] == 3
        first = outbox.backlog(10)[0]
        assert first.document == b"<a/>"  # the first copy wins; the record is not sent twice


def test_message_id_is_stored_before_sending_and_stable(tmp_path):
    with _outbox(tmp_path) as outbox:
        with outbox.transaction() as db:
            outbox.add(db, [NewItem("xml", "k1", b"<a/>")])
        item = outbox.backlog(1)[0]
        assert item.message_id == message_id_for("CLINIC01", "xml", "k1")
        outbox.mark_sent([item.id])
        again = outbox.backlog(1)[0]
        assert (again.state, again.attempts, again.message_id) == (ItemState.SENT.value, 1, item.message_id)
    # committed and durable: a new connection (a restarted agent) sees the same
    assert sqlite3.connect(tmp_path / "outbox.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with _outbox(tmp_path) as reopened:
        assert reopened.backlog(1)[0].message_id == item.message_id


def test_source_problem_is_quarantined_at_once(tmp_path):
    with _outbox(tmp_path) as outbox:
        with outbox.transaction() as db:
            outbox.add(db, [NewItem("xml", "bad", code="source.xml.malformed", reason="not XML")])
        assert outbox.backlog(10) == []
        (item,) = outbox.quarantined()
        assert (item.code, item.quarantined_by) == ("source.xml.malformed", QuarantinedBy.SOURCE.value)
        assert outbox.retry([item.id]) == 0  # nothing to resend: the source must be fixed


def test_receipts_acks_and_retry(tmp_path):
    with _outbox(tmp_path) as outbox:
        with outbox.transaction() as db:
            outbox.add(db, [NewItem("xml", f"k{i}", b"<a/>") for i in range(3)])
        a, b, c = outbox.backlog(10)
        outbox.record_receipts([(a.id, "sha", "t"), (b.id, "sha", "t")], [(c.id, "exchange.message_id.reused",
                                                                          "MessageID was already used", "")])
        with outbox.transaction() as db:
            assert outbox.settle(db, message_id=a.message_id, processed=True)
            assert outbox.settle(db, message_id=b.message_id, processed=False, code="record.code.unknown",
                                 reason="bad code", field="/LabReport/body")
            assert not outbox.settle(db, message_id="urn:uuid:unknown", processed=True)
        counts = outbox.counts()
        assert (counts["processed"], counts["quarantined"], counts["pending"]) == (1, 2, 0)
        by_id = {item.id: item for item in outbox.quarantined()}
        assert by_id[b.id].quarantined_by == QuarantinedBy.NORMALIZATION.value
        assert by_id[b.id].field == "/LabReport/body"
        assert by_id[c.id].quarantined_by == QuarantinedBy.HUB.value
        assert outbox.retry([b.id, c.id]) == 2
        fresh = {item.id: item for item in outbox.backlog(10)}
        assert fresh.keys() == {b.id, c.id}
        assert fresh[b.id].message_id != b.message_id and fresh[b.id].code == ""


def test_an_outbox_written_before_origin_was_kept_opens_and_records_it(tmp_path):
    # outbox.db files at clinics predate the origin and quarantined columns: opening adds them.
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE outbox_item (id INTEGER PRIMARY KEY, source TEXT NOT NULL, item_key TEXT NOT NULL,
                message_id TEXT NOT NULL UNIQUE, document_type TEXT NOT NULL DEFAULT '', document BLOB,
                state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, code TEXT NOT NULL DEFAULT '',
                reason TEXT NOT NULL DEFAULT '', field TEXT NOT NULL DEFAULT '',
                quarantined_by TEXT NOT NULL DEFAULT '', document_sha256 TEXT NOT NULL DEFAULT '',
                received_at TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                UNIQUE (source, item_key));
            CREATE TABLE collected_file (source TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
                collected_at TEXT NOT NULL, PRIMARY KEY (source, name, sha256));
            INSERT INTO outbox_item (source, item_key, message_id, state, created_at, updated_at)
                VALUES ('xml', 'old', 'urn:uuid:old', 'pending', 'then', 'then');
            INSERT INTO collected_file VALUES ('xml', 'old.xml', 'ab', 'then');
        """)
    for _ in range(2):  # a second opening finds the columns there
        with _outbox(tmp_path) as outbox:
            assert outbox.file_outcome(source="xml", name="old.xml", sha256="ab") == FileOutcome.COLLECTED
    with _outbox(tmp_path) as outbox:
        with outbox.transaction() as db:
            outbox.add(db, [NewItem("xml", "bad", code="source.xml.malformed", origin="bad.xml")])
            outbox.remember_file(db, source="xml", name="bad.xml", sha256="cd", outcome=FileOutcome.QUARANTINED)
        assert [item.origin for item in outbox.quarantined()] == ["bad.xml"]
        assert outbox.backlog(5)[0].origin == ""
        assert outbox.file_outcome(source="xml", name="bad.xml", sha256="cd") == FileOutcome.QUARANTINED
        assert outbox.quarantine_counts() == {"source": 1, "hub": 0, "normalization": 0}
