"""ATNA-like audit events (their table and their writers). Written in the caller's transaction:
if the audit fails, so does the request."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from protocol.timestamps import utcnow

from .errors import StoreError
from .store.db import transaction
from .store.models import Base, UTCDateTime
from .store.rawsql import RawSql


class AuditEvent(Base):
    """ATNA-like audit record; written for every accept, reject, decrypt failure and reply fetch."""

    __tablename__ = "audit_event"
    # refusals only (the monitor's reads): the accept written for every message never enters it
    __table_args__ = (Index("ix_audit_event_refusal", "at", "member", "event_type", "code", "message_id", "envelope_sha256",
                            sqlite_where=text("outcome = 'failure'"), postgresql_where=text("outcome = 'failure'")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    member: Mapped[str | None] = mapped_column(String(64), nullable=True)  # who acted (or was refused)
    cert_serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    envelope_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # record access and MPI events: which person (an internal id, never a name) and why
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # what the event names besides a message: a cube export's ``<cube>.<format>``, an MPI event's
    # ``mpi_merge:<id>``; names and internal ids only, never patient data
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


SUCCESS = "success"
FAILURE = "failure"
_FAILURE_EVENTS = frozenset({"message.reject", "request.reject", "decrypt.fail", "record.access.deny",
                             "console.login.reject", "alert.reject", "subscription.reject"})
_FAILURE_PREFIXES = ("api.reject.",)  # a bearer token refused, by reason


def event(event_type: str, *, verified=None, trace=None, message_id: str | None = None,
          client_address: str | None = None, code: str | None = None, member: str | None = None,
          person_id: int | None = None, purpose: str | None = None, detail: str | None = None) -> dict:
    """One audit row; who and which certificate come from the verified request (or the gate trace)."""
    source = verified.request if verified is not None else (trace.request if trace is not None else None)
    envelope = verified.envelope_sha256 if verified is not None else (trace.envelope_sha256 if trace else None)
    failed = event_type in _FAILURE_EVENTS or event_type.startswith(_FAILURE_PREFIXES)
    if source is not None:
        holder, serial = source.identity.member, source.identity.serial_hex
    else:  # refused before the request was whole: the trace may still know whose certificate it was
        holder, serial = (trace.member, trace.cert_serial) if trace is not None else (None, None)
    return {"at": utcnow(), "event_type": event_type, "outcome": FAILURE if failed else SUCCESS, "code": code,
            "member": member or holder, "cert_serial": serial,
            "message_id": message_id or (source.message_id if source else None),
            "client_address": client_address, "envelope_sha256": envelope or None,
            "person_id": person_id, "purpose": purpose, "detail": detail}


def record_many(session: Session, rows: list[dict]) -> None:
    """Insert audit rows in the caller's transaction."""
    if rows:
        insert_raw(RawSql(session), rows)


_COLUMNS = ("at", "event_type", "outcome", "code", "member", "cert_serial", "message_id", "client_address",
            "envelope_sha256", "person_id", "purpose", "detail")
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


__all__ = ["AuditEvent", "event", "insert_raw", "record", "record_many", "record_rejection", "SUCCESS", "FAILURE"]
