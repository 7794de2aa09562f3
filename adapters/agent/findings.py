"""What the hub found wrong in documents it kept: the findings of processing acknowledgements, in the outbox.

A document the hub stored can still come back with findings (``hie:Finding``: a code of
``protocol.findings`` and the field's path, never a value). The clinic corrects the record at the
source and sends a new version; the hub then replaces the older version's findings with the new
version's (none, when it is right). The outbox does the same, so the listing shows only what is
still wrong at the hub:

- each finding row names its item and the document it is about (id root, extension, version);
- a processed acknowledgement replaces its own item's rows (an ack fetched again after a crash
  adds nothing) and removes those of every *older* version of the same document. An equal version
  is not touched: the hub ignored it as stale, kept the stored version's findings and reported none;
- a processed cancellation removes the findings of the document it cancels, as the hub does.

The table is created with ``CREATE TABLE IF NOT EXISTS`` whenever an outbox is opened, so an
outbox written before findings existed gains it in place.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterable

from protocol.findings import FINDINGS
from protocol.xmlparse import parse_untrusted

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_finding (
    item_id INTEGER NOT NULL REFERENCES outbox_item (id),
    position INTEGER NOT NULL,
    id_root TEXT NOT NULL DEFAULT '',
    document_id TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 0,
    code TEXT NOT NULL,
    field TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (item_id, position)
);
CREATE INDEX IF NOT EXISTS outbox_finding_document ON outbox_finding (id_root, document_id, version);
"""
LANGUAGES = ("en", "zh")
# A hub newer than this agent may report a code the agent's registry does not hold yet.
_UNKNOWN = {"en": "reported by the hub (a code this agent version does not describe yet)",
            "zh": "平台报告的数据问题（本版本代理程序尚无此代码的说明）"}


@dataclass(frozen=True)
class ReportedFinding:
    """One ``hie:Finding`` of an acknowledgement: a code and the field's path (not checked against the
    registry: the hub's registry may be newer than this agent's)."""

    code: str
    field: str = ""


@dataclass(frozen=True)
class DocumentRef:
    """Which document an outbox item holds, read from its header (``cancels``: a Cancellation's target)."""

    id_root: str
    document_id: str
    version: int
    cancels: tuple[str, str] | None = None


@dataclass(frozen=True)
class FindingLine:
    """One row of ``hie-agent findings``."""

    item_id: int
    source: str
    origin: str  # the file it was built from, or the source's key of a database row
    document_type: str
    document_id: str
    version: int
    code: str
    field: str

    def message(self, language: str = "en") -> str:
        return finding_message(self.code, language)


def finding_message(code: str, language: str = "en") -> str:
    """The registry's fixed text for ``code``, in English or Chinese (``zh``)."""
    spec = FINDINGS.get(code)
    if spec is None:
        return _UNKNOWN["zh" if language == "zh" else "en"]
    return spec.message_zh if language == "zh" else spec.message


def document_ref(document: bytes | None) -> DocumentRef | None:
    """The id and version in ``document``'s header; None when there is no document or no id."""
    if not document:
        return None
    try:
        root = parse_untrusted(document)
    except Exception:  # noqa: BLE001 - the agent built it; a document it cannot read has no identity here
        return None
    ident = root.find("{*}header/{*}id")
    if ident is None or not ident.get("extension"):
        return None
    try:
        version = int((root.findtext("{*}header/{*}version") or "1").strip())
    except ValueError:
        version = 0
    target = root.find("{*}body/{*}target")
    cancels = None
    if root.tag.rsplit("}", 1)[-1] == "Cancellation" and target is not None and target.get("extension"):
        cancels = (target.get("root", ""), target.get("extension", ""))
    return DocumentRef(ident.get("root", ""), ident.get("extension"), version, cancels)


def replace_findings(db: sqlite3.Connection, *, item_id: int, document: bytes | None,
                     findings: Iterable[ReportedFinding]) -> None:
    """Record a processed acknowledgement's findings for ``item_id`` in the caller's transaction."""
    db.execute("DELETE FROM outbox_finding WHERE item_id=?", (item_id,))
    findings = list(findings)
    if not findings and db.execute("SELECT 1 FROM outbox_finding LIMIT 1").fetchone() is None:
        return  # the usual ack: nothing to record and nothing older to clear, so the document is not parsed
    ref = document_ref(document)
    if ref is not None:
        db.execute("DELETE FROM outbox_finding WHERE id_root=? AND document_id=? AND version<?",
                   (ref.id_root, ref.document_id, ref.version))
        if ref.cancels is not None:
            db.execute("DELETE FROM outbox_finding WHERE id_root=? AND document_id=?", ref.cancels)
    root, document_id, version = (ref.id_root, ref.document_id, ref.version) if ref else ("", "", 0)
    db.executemany("INSERT INTO outbox_finding (item_id, position, id_root, document_id, version, code, field)"
                   " VALUES (?,?,?,?,?,?,?)",
                   [(item_id, position, root, document_id, version, finding.code, finding.field)
                    for position, finding in enumerate(findings)])


def finding_lines(db: sqlite3.Connection, *, limit: int = 1000, code: str | None = None) -> list[FindingLine]:
    """The findings still standing, oldest item first (``code``: only that code)."""
    rows = db.execute(
        "SELECT f.item_id, i.source, i.origin, i.item_key, i.document_type, f.document_id, f.version, f.code,"
        " f.field FROM outbox_finding f JOIN outbox_item i ON i.id = f.item_id WHERE (? IS NULL OR f.code = ?)"
        " ORDER BY f.item_id, f.position LIMIT ?", (code, code, limit)).fetchall()
    # a database row has no file: its source key names it (without the digest the outbox appends)
    return [FindingLine(item_id, source, origin or key.rsplit("@sha256:", 1)[0], *rest)
            for item_id, source, origin, key, *rest in rows]


def count_findings(db: sqlite3.Connection, *, code: str | None = None) -> int:
    """How many lines ``finding_lines`` has without a limit."""
    return db.execute("SELECT count(*) FROM outbox_finding f JOIN outbox_item i ON i.id = f.item_id"
                      " WHERE (? IS NULL OR f.code = ?)", (code, code)).fetchone()[0]


def items_with_findings(db: sqlite3.Connection) -> int:
    """How many outbox items the hub kept with findings that still stand."""
    return db.execute("SELECT count(DISTINCT f.item_id) FROM outbox_finding f JOIN outbox_item i ON i.id = f.item_id"
                      " WHERE i.state IN ('accepted', 'processed')").fetchone()[0]


__all__ = ["DocumentRef", "FindingLine", "LANGUAGES", "ReportedFinding", "SCHEMA", "count_findings", "document_ref",
           "finding_lines", "finding_message", "items_with_findings", "replace_findings"]
