"""Replies: fetch from the hub, write where the config says, and only then acknowledge.

A reply is acknowledged at the hub only after everything it is written into has committed: the
clinic database (SQLAlchemy Core, one transaction per target and fetch), the reply folder (file
written, fsynced and renamed into place) and, for processing acknowledgements, the outbox. A
crash in between means the reply is fetched and written again, so every write is idempotent:
a database target skips a reply whose id is already in its key column, a file has the reply id
as its name. A reply whose kind has no target is left unacknowledged at the hub (and counted),
never dropped (``kinds = ["*"]`` routes every kind). Mapping a column: ``reply_id``, ``kind``, ``in_reply_to``, ``content`` (the XML
text), ``fetched_at``, or ``xml:Path/To/Element`` (or ``xml:Path/@attribute``) in the content.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from protocol.errors import FAULTS
from protocol.status import MessageStatus
from protocol.xmlparse import parse_untrusted

from .config import ReplyTarget
from .findings import ReportedFinding
from .outbox import Outbox

log = logging.getLogger(__name__)
ACK_KIND = "ack"
REPLY_FIELDS = ("reply_id", "kind", "in_reply_to", "content", "fetched_at")


@dataclass
class RepliesResult:
    fetched: int = 0
    written: int = 0
    acknowledged: int = 0
    unrouted: int = 0  # no target for the kind: left at the hub
    failed: list[str] = field(default_factory=list)  # targets whose write failed (error type only)


@dataclass(frozen=True)
class Acknowledgement:
    """The hub's processing outcome of one submitted message (an ``ack`` reply's content)."""

    message_id: str
    status: str  # processed | rejected
    code: str = ""
    field: str = ""
    findings: tuple[ReportedFinding, ...] = ()  # what is wrong in a document the hub kept (docs/data-quality.md)

    @classmethod
    def parse(cls, content: bytes) -> "Acknowledgement":
        root = parse_untrusted(content)
        findings = (ReportedFinding(element.findtext("{*}Code", "").strip(), element.findtext("{*}Field", "").strip())
                    for element in root.iterfind("{*}Finding"))
        return cls(*(root.findtext(f"{{*}}{name}", "").strip() for name in ("MessageId", "Status", "Code", "Field")),
                   findings=tuple(finding for finding in findings if finding.code))


def mapped_row(target: ReplyTarget, reply, fetched_at: datetime) -> dict:
    """The row a database target stores for ``reply``, per the target's column map."""
    values = {"reply_id": reply.reply_id, "kind": reply.kind, "in_reply_to": reply.in_reply_to,
              "content": reply.content.decode("utf-8"), "fetched_at": fetched_at}
    root = None
    row = {}
    for column, source in target.columns.items():
        if source.startswith("xml:"):
            root = parse_untrusted(reply.content) if root is None else root
            row[column] = _xml_value(root, source[4:])
        elif source in values:
            row[column] = values[source]
        else:
            raise ValueError(f"column {column}: unknown reply field {source!r}")
    return row


def _xml_value(root, path: str) -> str | None:
    steps, attribute = path.strip("/").split("/"), None
    if steps[-1].startswith("@"):
        attribute = steps.pop()[1:]
    element = root.find("/".join(f"{{*}}{step}" for step in steps)) if steps else root
    if element is None:
        return None
    return element.get(attribute) if attribute else (element.text or "").strip()


class DatabaseTarget:
    """Rows in one table of the clinic database (reflected once; SQLite or PostgreSQL)."""

    def __init__(self, target: ReplyTarget):
        from sqlalchemy import create_engine

        self.target = target
        self.engine = create_engine(target.database)
        self._table = None

    def write(self, replies: list, fetched_at: datetime) -> None:
        from sqlalchemy import MetaData, Table, insert, select

        if self._table is None:
            self._table = Table(self.target.table, MetaData(), autoload_with=self.engine)
        table, key = self._table, self.target.key
        rows = [mapped_row(self.target, reply, fetched_at) for reply in replies]
        with self.engine.begin() as connection:
            known = set(connection.scalars(select(table.c[key]).where(table.c[key].in_([r[key] for r in rows]))))
            fresh = [row for row in rows if row[key] not in known]
            if fresh:
                connection.execute(insert(table), fresh)

    def close(self) -> None:
        self.engine.dispose()


class FolderTarget:
    """One file per reply, ``<reply id>.xml``, written atomically."""

    def __init__(self, target: ReplyTarget):
        self.folder = target.folder

    def write(self, replies: list, fetched_at: datetime) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for reply in replies:
            final = self.folder / f"{_safe(reply.reply_id)}.xml"
            temporary = final.with_suffix(".part")
            with temporary.open("wb") as handle:
                handle.write(reply.content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the renames themselves are durable before the hub forgets the replies
        finally:
            os.close(directory)

    def close(self) -> None:
        pass


def _safe(reply_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in reply_id)


class ReplyRouter:
    """Fetch → write → settle acknowledgements in the outbox → AckReplies."""

    def __init__(self, outbox: Outbox, client, targets: tuple[ReplyTarget, ...], *, fetch_limit: int = 100):
        self.outbox = outbox
        self.client = client
        self.fetch_limit = fetch_limit
        self.targets = [(t, DatabaseTarget(t) if t.database else FolderTarget(t)) for t in targets]

    def close(self) -> None:
        for _, writer in self.targets:
            writer.close()

    def run(self) -> RepliesResult:
        """Fetch and handle replies until the hub has no more that this pass can acknowledge."""
        result = RepliesResult()
        while True:
            replies = self.client.fetch_replies(self.fetch_limit)
            result.fetched += len(replies)
            done = self.write(replies, result)
            if done:
                result.acknowledged += self.client.ack_replies(done)
            if len(replies) < self.fetch_limit or not done or result.failed:
                return result

    def write(self, replies: list, result: RepliesResult) -> list[str]:
        """Write ``replies`` (not acknowledged yet); return the ids of those written everywhere they belong."""
        fetched_at = datetime.now(timezone.utc)
        failed: set[str] = set()
        routed: set[str] = set()
        for target, writer in self.targets:
            mine = [r for r in replies if r.kind in target.kinds or "*" in target.kinds]
            if not mine:
                continue
            routed.update(r.reply_id for r in mine)
            try:
                writer.write(mine, fetched_at)
            except Exception as error:  # noqa: BLE001 - the replies stay at the hub; next pass retries
                log.error("reply target %s failed: %s", target.table or target.folder, type(error).__name__)
                result.failed.append(type(error).__name__)
                failed.update(r.reply_id for r in mine)
        acks = [r for r in replies if r.kind == ACK_KIND and r.reply_id not in failed]
        with self.outbox.transaction() as db:
            for reply in acks:
                ack = Acknowledgement.parse(reply.content)
                spec = FAULTS.get(ack.code)
                processed = ack.status == MessageStatus.PROCESSED
                if not self.outbox.settle(db, message_id=ack.message_id, processed=processed, code=ack.code,
                                          reason=spec.message if spec else "rejected by the hub", field=ack.field,
                                          findings=ack.findings):
                    log.warning("acknowledgement for a message this outbox does not know (reply %s)", reply.reply_id)
        done = []
        for reply in replies:
            if reply.reply_id in failed:
                continue
            if reply.reply_id in routed or reply.kind == ACK_KIND:
                done.append(reply.reply_id)
            else:
                result.unrouted += 1
        result.written += len(done)
        return done


__all__ = ["ACK_KIND", "Acknowledgement", "DatabaseTarget", "FolderTarget", "RepliesResult", "ReplyRouter",
           "REPLY_FIELDS", "mapped_row"]
