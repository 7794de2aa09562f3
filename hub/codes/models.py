"""The codes an operator imported into the hub's code lists (``hie codes import``, docs/code-lists.md).

The database is their place of record: every hub process of a deployment reads the same rows (several
hubs on one PostgreSQL import once), an upgrade that replaces ``schemas/codes`` keeps them, and an
embedded hub keeps them in its data directory's ``hub.db``. Rows are only ever added.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime


class CodeAddition(Base):
    """One code added to a shipped sample list (ICD-10 国家临床版, GB/T 2260, a drug catalogue …)."""

    __tablename__ = "code_addition"
    __table_args__ = (UniqueConstraint("system", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(500))
    columns: Mapped[str] = mapped_column(Text)  # JSON object: the list's other columns (parent, level, atc …)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = ["CodeAddition"]
