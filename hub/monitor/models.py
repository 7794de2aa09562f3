"""The monitor's own table: the outcome of each ``hie etl reconcile`` (OLTP against mart counts)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime


class ReconcileCheck(Base):
    """One reconcile: how many (fact, local day) pairs were compared, how many differed, and which."""

    __tablename__ = "reconcile_check"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pairs: Mapped[int] = mapped_column(Integer)
    differing: Mapped[int] = mapped_column(Integer)
    oltp_rows: Mapped[int] = mapped_column(Integer)
    mart_rows: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)  # JSON: the first differing pairs (fact, date, oltp, mart, difference)


__all__ = ["ReconcileCheck"]
