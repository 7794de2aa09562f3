"""The durable local outbox (SQLite, WAL, ``synchronous=FULL``): every record is stored before it is sent.

An item is created with its MessageID already assigned, so every resend after a timeout, a crash
or a restart carries the same MessageID and the hub answers it with the original receipt. The
``(source, item_key)`` pair is unique: collecting the same source record again adds nothing.

States (``ItemState``)::

    pending ──send──▶ sent ──receipt accepted──▶ accepted ──ack processed──▶ processed
       │                │                            │
       └────────────────┴── permanent refusal ───────┴── ack rejected ──▶ quarantined
                                                                        (retry: new MessageID, pending)

``pending`` and ``sent`` are the backlog (``sent`` = tried at least once, no receipt yet).
Each item remembers the file it was built from (``origin``, relative to the source's folder; empty
for database rows), so a quarantine entry says which file to fix. A processed item may carry the
hub's findings (``findings``: kept beside it, replaced by its document's next version).
Every write is one short ``BEGIN IMMEDIATE`` transaction; each thread or process opens its own
``Outbox`` (SQLite connections are not shared between threads).
"""
from __future__ import annotations

import enum
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .findings import SCHEMA as _FINDINGS_SCHEMA
from .findings import FindingLine, ReportedFinding, count_findings, finding_lines, items_with_findings, replace_findings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_item (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    item_key TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    document_type TEXT NOT NULL DEFAULT '',
    document BLOB,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    code TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    field TEXT NOT NULL DEFAULT '',
    quarantined_by TEXT NOT NULL DEFAULT '',
    document_sha256 TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (source, item_key)
);
CREATE INDEX IF NOT EXISTS outbox_item_state ON outbox_item (state, id);
CREATE TABLE IF NOT EXISTS collected_file (
    source TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, collected_at TEXT NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, name, sha256)
);
CREATE TABLE IF NOT EXISTS watermark (source TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agent_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added since the first release: an outbox.db written before them gets them on opening.
_ADDED_COLUMNS = (("outbox_item", "origin", "TEXT NOT NULL DEFAULT ''"),
                  ("collected_file", "quarantined", "INTEGER NOT NULL DEFAULT 0"))


class ItemState(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    ACCEPTED = "accepted"
    PROCESSED = "processed"
    QUARANTINED = "quarantined"


BACKLOG = (ItemState.PENDING.value, ItemState.SENT.value)


class FileOutcome(str, enum.Enum):
    """What a collected file became: items to send (moved to done_folder), or only quarantines (left in place)."""

    COLLECTED = "collected"
    QUARANTINED = "quarantined"


class QuarantinedBy(str, enum.Enum):
    """Who refused the item: the source adapter, the hub's gate (receipt or fault), or normalization (ack)."""

    SOURCE = "source"
    HUB = "hub"
    NORMALIZATION = "normalization"


@dataclass(frozen=True)
class NewItem:
    """What a collector stores: a built document, or the source's reason why there is none."""

    source: str
    key: str
    document: bytes | None = None
    document_type: str = ""
    code: str = ""
    reason: str = ""
    field: str = ""
    origin: str = ""  # the file it was built from, relative to the source's folder


@dataclass(frozen=True)
class OutboxItem:
    id: int
    source: str
    item_key: str
    message_id: str
    document_type: str
    document: bytes | None
    state: str
    attempts: int
    code: str
    reason: str
    field: str
    quarantined_by: str
    origin: str = ""


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def message_id_for(member: str, source: str, key: str) -> str:
    """The first MessageID of a record: stable, so an outbox rebuilt from the same sources resends the same ids."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'hie-agent:{member}:{source}:{key}')}"


class Outbox:
    """One connection to the outbox database."""

    def __init__(self, path: Path, *, member: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.member = member
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a commit survives power loss, not only a crash
        self.db.executescript(_SCHEMA + _FINDINGS_SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        def missing() -> list[tuple[str, str, str]]:
            return [(table, column, declaration) for table, column, declaration in _ADDED_COLUMNS
                    if column not in {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}]

        if missing():
            with self.transaction() as db:  # asked again under the write lock: two agents add them once
                for table, column, declaration in missing():
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so it cannot fail half-way."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------ collecting

    def add(self, db: sqlite3.Connection, items: Iterable[NewItem]) -> int:
        """Store new items in the caller's transaction; a (source, key) already known is skipped."""
        stamp, added = now_text(), 0
        for item in items:
            state = ItemState.PENDING if item.document is not None else ItemState.QUARANTINED
            cursor = db.execute(
                "INSERT INTO outbox_item (source, item_key, message_id, document_type, document, state, code, reason,"
                " field, quarantined_by, origin, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (source, item_key) DO NOTHING",
                (item.source, item.key, message_id_for(self.member, item.source, item.key), item.document_type,
                 item.document, state.value, item.code, item.reason, item.field,
                 "" if item.document is not None else QuarantinedBy.SOURCE.value, item.origin, stamp, stamp))
            added += cursor.rowcount
        return added

    def file_outcome(self, *, source: str, name: str, sha256: str) -> FileOutcome | None:
        """What became of this very file (name and content) before; None if it was never collected."""
        row = self.db.execute("SELECT quarantined FROM collected_file WHERE source=? AND name=? AND sha256=?",
                              (source, name, sha256)).fetchone()
        return None if row is None else FileOutcome.QUARANTINED if row[0] else FileOutcome.COLLECTED

    def remember_file(self, db: sqlite3.Connection, *, source: str, name: str, sha256: str,
                      outcome: FileOutcome | None = None) -> None:
        db.execute("INSERT OR IGNORE INTO collected_file (source, name, sha256, collected_at, quarantined)"
                   " VALUES (?,?,?,?,?)", (source, name, sha256, now_text(), outcome is FileOutcome.QUARANTINED))

    def watermark(self, source: str) -> str | None:
        row = self.db.execute("SELECT value FROM watermark WHERE source=?", (source,)).fetchone()
        return row[0] if row else None

    def set_watermark(self, db: sqlite3.Connection, source: str, value: str) -> None:
        db.execute("INSERT INTO watermark VALUES (?,?,?) ON CONFLICT (source) DO UPDATE SET value=excluded.value,"
                   " updated_at=excluded.updated_at", (source, value, now_text()))

    # ------------------------------------------------------------ sending

    def backlog(self, limit: int, *, after_id: int = 0) -> list[OutboxItem]:
        """The oldest items still to be sent, from ``after_id`` on (memory bounded by ``limit``)."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM outbox_item WHERE state IN (?,?) AND id > ? ORDER BY id"
                               " LIMIT ?", (*BACKLOG, after_id, limit)).fetchall()
        return [OutboxItem(*row) for row in rows]

    def mark_sent(self, ids: list[int]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE outbox_item SET state=?, attempts=attempts+1, updated_at=? WHERE id=? AND state IN"
                           " (?,?)", [(ItemState.SENT.value, now_text(), i, *BACKLOG) for i in ids])

    def record_receipts(self, accepted: list[tuple[int, str, str]], refused: list[tuple[int, str, str, str]]) -> None:
        """Receipts of one request in one commit: ``accepted`` (id, document sha256, received at) and
        ``refused`` (id, code, reason, field) items quarantined by the hub."""
        stamp = now_text()
        with self.transaction() as db:
            db.executemany("UPDATE outbox_item SET state=?, document_sha256=?, received_at=?, updated_at=? WHERE id=?"
                           " AND state IN (?,?)",
                           [(ItemState.ACCEPTED.value, sha, at, stamp, i, *BACKLOG) for i, sha, at in accepted])
            _quarantine(db, [(code, reason, field, QuarantinedBy.HUB.value, stamp, i)
                             for i, code, reason, field in refused])

    # ------------------------------------------------------------ acknowledgements

    def settle(self, db: sqlite3.Connection, *, message_id: str, processed: bool, code: str = "", reason: str = "",
               field: str = "", findings: Sequence[ReportedFinding] = ()) -> bool:
        """Apply the hub's processing acknowledgement of ``message_id`` (with the findings of a kept
        document, replacing those of its older versions); False if the outbox does not know it."""
        row = db.execute("SELECT id, document FROM outbox_item WHERE message_id=?", (message_id,)).fetchone()
        if row is None:
            return False
        stamp = now_text()
        if processed:
            if db.execute("UPDATE outbox_item SET state=?, updated_at=? WHERE id=? AND state<>?",
                          (ItemState.PROCESSED.value, stamp, row[0], ItemState.QUARANTINED.value)).rowcount:
                replace_findings(db, item_id=row[0], document=row[1], findings=findings)
        else:
            _quarantine(db, [(code, reason, field, QuarantinedBy.NORMALIZATION.value, stamp, row[0])])
        return True

    # ------------------------------------------------------------ quarantine

    def quarantined(self, limit: int = 1000) -> list[OutboxItem]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM outbox_item WHERE state=? ORDER BY id LIMIT ?",
                               (ItemState.QUARANTINED.value, limit)).fetchall()
        return [OutboxItem(*row) for row in rows]

    def retry(self, ids: list[int]) -> int:
        """Send quarantined items again under a new MessageID (the old one is settled at the hub)."""
        changed = 0
        with self.transaction() as db:
            for item_id in ids:
                changed += db.execute(
                    "UPDATE outbox_item SET state=?, message_id=?, code='', reason='', field='', quarantined_by='',"
                    " updated_at=? WHERE id=? AND state=? AND document IS NOT NULL",
                    (ItemState.PENDING.value, f"urn:uuid:{uuid.uuid4()}", now_text(), item_id,
                     ItemState.QUARANTINED.value)).rowcount
        return changed

    def findings(self, *, limit: int = 1000, code: str | None = None) -> list[FindingLine]:
        """The hub's findings on kept documents that still stand (see ``findings``)."""
        return finding_lines(self.db, limit=limit, code=code)

    def findings_count(self, *, code: str | None = None) -> int:
        """How many lines ``findings`` gives without a limit."""
        return count_findings(self.db, code=code)

    # ------------------------------------------------------------ bookkeeping

    def with_findings(self) -> int:
        """Items the hub kept with findings that still stand (a subset of accepted and processed)."""
        return items_with_findings(self.db)

    def counts(self) -> dict[str, int]:
        found = dict(self.db.execute("SELECT state, count(*) FROM outbox_item GROUP BY state").fetchall())
        return {state.value: found.get(state.value, 0) for state in ItemState}

    def quarantine_counts(self) -> dict[str, int]:
        """Quarantined items by who refused them (``QuarantinedBy`` values)."""
        found = dict(self.db.execute("SELECT quarantined_by, count(*) FROM outbox_item WHERE state=?"
                                     " GROUP BY quarantined_by", (ItemState.QUARANTINED.value,)).fetchall())
        return {who.value: found.get(who.value, 0) for who in QuarantinedBy}

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM agent_meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: object) -> None:
        with self.transaction() as db:
            db.executemany("INSERT INTO agent_meta VALUES (?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                           [(key, str(value)) for key, value in values.items()])


_COLUMNS = ("id, source, item_key, message_id, document_type, document, state, attempts, code, reason, field,"
            " quarantined_by, origin")


def _quarantine(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany("UPDATE outbox_item SET state='quarantined', code=?, reason=?, field=?, quarantined_by=?,"
                   " updated_at=? WHERE id=?", rows)


__all__ = ["BACKLOG", "FileOutcome", "ItemState", "NewItem", "Outbox", "OutboxItem", "QuarantinedBy", "message_id_for",
           "now_text"]
