"""The recall's tables: a recall of one drug batch, and its notice to each affected institution."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ...store.models import Base, UTCDateTime


class NoticeState(str, enum.Enum):
    """A recall notice's lifecycle: sent (queued as a reply), confirmed (the institution acknowledged that reply)."""

    SENT = "sent"
    CONFIRMED = "confirmed"


class Recall(Base):
    """The bureau's recall of one drug batch (one live recall per batch)."""

    __tablename__ = "workflow_recall"
    __table_args__ = (Index("ux_workflow_recall_batch", "drug_code", "batch_number", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drug_code: Mapped[str] = mapped_column(String(32))
    batch_number: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)  # the bureau's words about the batch, never a patient value
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirm_by: Mapped[datetime] = mapped_column(UTCDateTime())  # a notice unconfirmed after this is overdue
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RecallNotice(Base):
    """The recall as one affected institution is told it: its own patients only, and its confirmation."""

    __tablename__ = "workflow_recall_notice"
    __table_args__ = (UniqueConstraint("recall_id", "institution"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recall_id: Mapped[int] = mapped_column(ForeignKey("workflow_recall.id", ondelete="CASCADE"), index=True)
    institution: Mapped[str] = mapped_column(String(64))
    reply_id: Mapped[str] = mapped_column(String(64), index=True)  # the outbox reply whose AckReplies confirms
    received: Mapped[str] = mapped_column(String(32))  # quantities as decimal text: codes and counts only
    dispensed: Mapped[str] = mapped_column(String(32))
    patients: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), server_default=text("'sent'"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PendingBatch(Base):
    """A batch a stored document touched, to be judged for anomalies once ``due_at`` has passed (the settle
    time lets the other side of a movement, sent out of order, arrive first)."""

    __tablename__ = "workflow_drug_pending"
    drug_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    occurrence: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the first document that touched it


__all__ = ["NoticeState", "Recall", "RecallNotice", "PendingBatch"]
