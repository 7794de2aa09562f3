"""The exchange's hand-written SQL (the intake and the processor's hot paths, through ``RawSql``).

Statements use ``?`` placeholders (``RawSql`` rewrites them for PostgreSQL); each SELECT names its
columns, and callers unpack them by name. The inbox writes and the processor's reads and claims
of ``inbox_message`` are here, and the replies the processor queues.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ..store.rawsql import RawSql, placeholders

INSERT_ENVELOPE = ("INSERT INTO inbox_envelope (sha256, member, cert_serial, wsa_message_id, action, received_at, "
                    "client_address, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_MESSAGE = ("INSERT INTO inbox_message (member, message_id, envelope_id, item_index, document_type, "
                   "document_sha256, document, status, error_code, received_at, updated_at, receipt) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)")


def known_messages(count: int) -> str:
    """(message_id, document_sha256, receipt) of one member's messages among ``count`` MessageIDs."""
    return ("SELECT message_id, document_sha256, receipt FROM inbox_message WHERE member = ? AND message_id IN ("
            + placeholders(count) + ")")


INSERT_REPLY = ("INSERT INTO outbox_reply (reply_id, member, kind, in_reply_to, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)")


# Messages failing by a stage's bug wait until their retry_after; the condition filters, on the rows the status
# index gives, the few that carry one (the plan stays the status index's, ordered by id).
_DUE = "(retry_after IS NULL OR retry_after <= ?)"


def pending(sql: RawSql, statuses: list[str], limit: int, now: datetime) -> list[tuple]:
    """(id, member, message_id, document, received_at) of the oldest messages in ``statuses`` due at ``now``,
    without the write lock; received_at aware UTC (the records' rules compare event times with it)."""
    rows = sql.rows(f"SELECT id, member, message_id, document, received_at FROM inbox_message WHERE status IN "
                    f"({placeholders(len(statuses))}) AND {_DUE} ORDER BY id LIMIT ?",
                    (*statuses, sql.time(now), limit))
    read: dict = {}  # the messages of one envelope or delivery arrived at the same time: parsed once
    return [(id_, member, message_id, document, read.get(at) or read.setdefault(at, _utc(at)))
            for id_, member, message_id, document, at in rows]


def claim_pending(sql: RawSql, statuses: list[str], limit: int, now: datetime) -> list[tuple]:
    """Like ``pending``, but each row locked for the caller's transaction, and the rows another
    transaction holds skipped (PostgreSQL's ``FOR UPDATE SKIP LOCKED``): concurrent processors take
    disjoint messages without waiting for each other."""
    rows = sql.rows(f"SELECT id, member, message_id, document, received_at FROM inbox_message WHERE status IN "
                    f"({placeholders(len(statuses))}) AND {_DUE} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
                    (*statuses, sql.time(now), limit))
    read: dict = {}
    return [(id_, member, message_id, document, read.get(at) or read.setdefault(at, _utc(at)))
            for id_, member, message_id, document, at in rows]


def _utc(value: datetime | str) -> datetime:
    """A UTC time column as read through the driver: naive ISO text on SQLite, a datetime on PostgreSQL."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def claim(sql: RawSql, ids: list[int], *, pending: list[str], status: str, now: datetime) -> set[int]:
    """Move the messages among ``ids`` still in a ``pending`` status to ``status``; the ids moved."""
    condition, params = sql.in_list("id", ids)
    return {claimed for (claimed,) in sql.rows(
        f"UPDATE inbox_message SET status = ?, updated_at = ? WHERE {condition} "
        f"AND status IN ({placeholders(len(pending))}) RETURNING id", (status, sql.time(now), *params, *pending))}


def attempts(sql: RawSql, ids: list[int]) -> dict[int, int]:
    """The failed processing attempts of the messages among ``ids``, by row id."""
    condition, params = sql.in_list("id", ids)
    return dict(sql.rows(f"SELECT id, attempts FROM inbox_message WHERE {condition}", params))


def newest_message(sql: RawSql) -> int:
    """The highest message row id (0 for an empty inbox)."""
    [(newest,)] = sql.rows("SELECT MAX(id) FROM inbox_message")
    return newest or 0
