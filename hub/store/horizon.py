"""The horizon: the newest time before which no transaction still open can date a row.

A processing chunk dates its rows when it starts (``utcnow()``) and commits them later; a reader that
goes by ``updated_at`` (the workflows' runner, the ETL) and moves its watermark past rows still
uncommitted would never see them. On PostgreSQL the horizon is the start of the oldest other client
transaction still open on the database, or the database's now; on SQLite, which commits one writer at
a time on one machine, there is none (None).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

_OLDEST_OPEN = text("SELECT LEAST(clock_timestamp(), MIN(xact_start)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND xact_start IS NOT NULL")


def horizon(session: Session) -> datetime | None:
    """PostgreSQL: the start of the oldest other transaction still open, or now (the database's clock);
    None on SQLite (no limit)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_OLDEST_OPEN).scalar_one().astimezone(timezone.utc)
    return None


__all__ = ["horizon"]
