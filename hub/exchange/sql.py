"""The exchange's hand-written SQL (the intake and the processor's hot paths, through ``RawSql``).

Statements use ``?`` placeholders (``RawSql`` rewrites them for PostgreSQL); each SELECT names its
columns, and callers unpack them by name.
"""
from __future__ import annotations

from ..store.rawsql import placeholders

INSERT_ENVELOPE = ("INSERT INTO inbox_envelope (sha256, sender, cert_serial, wsa_message_id, action, received_at, "
                    "client_address, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_MESSAGE = ("INSERT INTO inbox_message (sender, message_id, envelope_id, item_index, document_type, "
                   "document_sha256, document, status, error_code, received_at, updated_at, receipt) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)")


def known_messages(count: int) -> str:
    """(message_id, document_sha256, receipt) of one sender's messages among ``count`` MessageIDs."""
    return ("SELECT message_id, document_sha256, receipt FROM inbox_message WHERE sender = ? AND message_id IN ("
            + placeholders(count) + ")")
