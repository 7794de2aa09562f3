"""The exchange's tables: the inbox (raw envelopes, messages), the reply outbox, the replay nonces."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime


class Envelope(Base):
    """Raw signed request bytes as received, kept for non-repudiation."""

    __tablename__ = "inbox_envelope"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    member: Mapped[str] = mapped_column(String(64))  # the member that signed the request
    cert_serial: Mapped[str] = mapped_column(String(64))
    wsa_message_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Message(Base):
    """One message: a submitted document under its member's MessageID, unique per (member, message_id)."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        UniqueConstraint("member", "message_id", name="uq_inbox_message_member_message_id"),
        Index("ix_inbox_message_status", "status"),
        Index("ix_inbox_message_member_received_at", "member", "received_at", "status"),  # the monitor's reads
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(String(64))  # who sent it
    message_id: Mapped[str] = mapped_column(String(200))  # the member's MessageID
    envelope_id: Mapped[int] = mapped_column(ForeignKey("inbox_envelope.id"))
    item_index: Mapped[int] = mapped_column(Integer, default=0)
    document_type: Mapped[str] = mapped_column(String(200))
    document_sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_field: Mapped[str | None] = mapped_column(String(300), nullable=True)  # XPath of the field at fault
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # the ETL's change feed
    receipt: Mapped[bytes] = mapped_column(LargeBinary)
    # failed processing attempts (a stage's bug) and when the next may run (hub.chunks.RETRY_FIRST_S)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Reply(Base):
    """A reply queued for a member (plaintext; sealed when fetched)."""

    __tablename__ = "outbox_reply"
    __table_args__ = (Index("ix_outbox_reply_member_acked", "member", "acked_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reply_id: Mapped[str] = mapped_column(String(64), unique=True)
    member: Mapped[str] = mapped_column(String(64))  # whom it is for
    kind: Mapped[str] = mapped_column(String(32))
    in_reply_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RequestNonce(Base):
    """MessageIDs of non-submit requests seen within the freshness window (replay guard)."""

    __tablename__ = "request_nonce"
    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


__all__ = ["Envelope", "Message", "Reply", "RequestNonce"]
