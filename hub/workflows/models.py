"""The workflows' tables: watermarks of the runner, alerts and their history, subscriptions."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime


class AlertState(str, enum.Enum):
    """An alert's lifecycle; the moves between states are ``hub.workflows.alerts.TRANSITIONS``."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Watermark(Base):
    """How far one workflow handler has read ``record_document``: the last (updated_at, id) it handled."""

    __tablename__ = "workflow_watermark"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    document_row_id: Mapped[int] = mapped_column(Integer)
    changes: Mapped[int] = mapped_column(Integer, default=0)  # changes handled so far (an operator's figure)
    advanced_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Alert(Base):
    """One incident: one open alert per (kind, key); raising it again updates it."""

    __tablename__ = "workflow_alert"
    # at most one alert per incident that is not closed (a closed one may be reopened or followed by a new one)
    __table_args__ = (Index("ux_workflow_alert_live", "kind", "key", unique=True,
                            sqlite_where=text("state <> 'closed'"), postgresql_where=text("state <> 'closed'")),
                      Index("ix_workflow_alert_kind_key", "kind", "key"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))  # the incident (e.g. disease:district), never a patient value
    district: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    institution: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    owner: Mapped[str] = mapped_column(String(64))  # a member code or a role such as ``bureau``
    state: Mapped[str] = mapped_column(String(16), index=True)
    count: Mapped[int] = mapped_column(Integer)  # occurrences so far (cases, anomalies …)
    facts: Mapped[str] = mapped_column(Text)  # JSON of codes and counts only
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AlertEvent(Base):
    """One change of an alert: who, what, when, an optional note; ``occurrence`` names what raised it."""

    __tablename__ = "workflow_alert_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("workflow_alert.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # what raised it, e.g. ``record_document:42`` (an internal row id): the same occurrence counts once
    occurrence: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)


class Subscription(Base):
    """A member's subscription to a topic, optionally filtered (``alert.disease`` by district)."""

    __tablename__ = "workflow_subscription"
    __table_args__ = (UniqueConstraint("member", "topic", "filter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(String(32), index=True)
    filter: Mapped[str] = mapped_column(String(32), default="")  # "" = no filter
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = ["AlertState", "Watermark", "Alert", "AlertEvent", "Subscription"]
