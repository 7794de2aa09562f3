"""ATNA-like audit events. Written in the caller's transaction: if the audit fails, so does the request."""
from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from .errors import StoreError
from .store.db import transaction
from .store.rawsql import RawSql

SUCCESS = "success"
FAILURE = "failure"
_FAILURE_EVENTS = frozenset({"message.reject", "request.reject", "decrypt.fail", "record.access.deny"})


def event(event_type: str, *, verified=None, trace=None, message_id: str | None = None,
          client_address: str | None = None, code: str | None = None, member: str | None = None,
          person_id: int | None = None, purpose: str | None = None) -> dict:
    """One audit row; who and which certificate come from the verified request (or the gate trace)."""
    source = verified.request if verified is not None else (trace.request if trace is not None else None)
    envelope = verified.envelope_sha256 if verified is not None else (trace.envelope_sha256 if trace else None)
    return {"at": utcnow(), "event_type": event_type,
            "outcome": FAILURE if event_type in _FAILURE_EVENTS else SUCCESS, "code": code,
            "member": member or (source.identity.member if source else None),
            "cert_serial": source.identity.serial_hex if source else None,
            "message_id": message_id or (source.message_id if source else None),
            "client_address": client_address, "envelope_sha256": envelope or None,
            "person_id": person_id, "purpose": purpose}


def record_many(session: Session, rows: list[dict]) -> None:
    """Insert audit rows in the caller's transaction."""
    if rows:
        insert_raw(RawSql(session), rows)


_COLUMNS = ("at", "event_type", "outcome", "code", "member", "cert_serial", "message_id", "client_address",
            "envelope_sha256", "person_id", "purpose")
_INSERT = f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def insert_raw(sql: RawSql, rows: list[dict]) -> None:
    """Insert audit rows through the driver (the intake's and the processor's hot paths)."""
    sql.many(_INSERT, [tuple(sql.time(row[c]) if c == "at" else row[c] for c in _COLUMNS) for row in rows])


def record(session: Session, event_type: str, **fields) -> None:
    """Add one audit event to ``session`` (committed with the caller's work)."""
    record_many(session, [event(event_type, **fields)])


def record_rejection(sessions: sessionmaker[Session], *, trace, code: str, client_address: str | None) -> None:
    """Audit a rejected request in its own transaction; raise ``StoreError`` if that fails."""
    kind = "decrypt.fail" if code == "security.decryption.failed" else "request.reject"
    try:
        with transaction(sessions) as session:
            record(session, kind, trace=trace, code=code, client_address=client_address)
    except SQLAlchemyError:
        raise StoreError("server.unavailable", "audit write failed") from None


__all__ = ["event", "insert_raw", "record", "record_many", "record_rejection", "SUCCESS", "FAILURE"]
