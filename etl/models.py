"""ETL bookkeeping in the OLTP store: one row per run, one watermark per change feed.

A run's watermark is stored in the same OLTP transaction that records the run as finished, after
the mart accepted every row of it: a crash before that point leaves the old watermark, and the
next run loads the same changes again, which the mart's versioned tables absorb (no double count).
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, UTCDateTime


class RunKind(str, enum.Enum):
    INCREMENTAL = "incremental"  # the changes since the watermarks
    BACKFILL = "backfill"        # every document of a clinical date range


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    FINISHED = "finished"  # the mart has every row; the watermarks moved
    FAILED = "failed"      # the watermarks did not move: the next run reads the same changes


class EtlRun(Base):
    __tablename__ = "etl_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # RunKind
    status: Mapped[str] = mapped_column(String(16))  # RunStatus
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    watermark_from: Mapped[str] = mapped_column(String(200), default="")
    watermark_to: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON: per-fact counts; error code on failure


class EtlWatermark(Base):
    __tablename__ = "etl_watermark"

    feed: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
