"""ETL runs and watermarks as the operator sees them: each run's counts and outcome, each change
feed's lag, the reconcile checks. ``/metrics`` reads its ETL gauges here too.

The ETL's tables belong to ``etl.models``; the hub reaches ``etl`` only from its edges, so they
are read here through the store's metadata (``hub.store.metadata``), by table name.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.metadata import metadata
from .periods import iso
from .reconcile import reconcile_checks

FINISHED, FAILED = "finished", "failed"  # etl.models.RunStatus values the monitor tells apart


def _tables():
    tables = metadata().tables
    return tables["etl_run"], tables["etl_watermark"]


def seconds_since(value: str | datetime | None, now: datetime) -> float | None:
    """Seconds from ``value`` (a time, or a watermark's ISO text) to ``now``; None if it is no time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None  # a feed whose watermark is not a time (the last merge applied)
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return max(0.0, (now - value).total_seconds())


def watermark_lags(session: Session, *, now: datetime) -> dict[str, float]:
    """Per change feed, the age of the newest change the mart has loaded (feeds whose watermark is a time)."""
    _, watermarks = _tables()
    lags = {}
    for feed, value in session.execute(select(watermarks.c.feed, watermarks.c.value)):
        seconds = seconds_since(value, now)
        if seconds is not None:
            lags[feed] = seconds
    return lags


def last_finished_at(session: Session) -> datetime | None:
    """When the last ETL run that finished did so (None: none has)."""
    runs, _ = _tables()
    return session.scalar(select(func.max(runs.c.finished_at)).where(runs.c.status == FINISHED))


def _run(row) -> dict:
    try:
        detail = json.loads(row.detail) if row.detail else {}
    except ValueError:
        detail = {}
    seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    return {"id": row.id, "kind": row.kind, "status": row.status, "started_at": iso(row.started_at),
            "finished_at": iso(row.finished_at), "seconds": round(seconds, 3) if seconds is not None else None,
            "rows_read": row.rows_read, "rows_written": row.rows_written, "rows_rejected": row.rows_rejected,
            "watermark_from": row.watermark_from, "watermark_to": row.watermark_to,
            "error_code": (detail.get("code") or detail.get("error")) if row.status == FAILED else None,
            "facts": detail.get("facts", {}) if isinstance(detail.get("facts"), dict) else {}}


def etl_runs(session: Session, *, limit: int, now: datetime) -> dict:
    """The latest ``limit`` runs and reconcile checks (newest first), the watermarks with their lag,
    the last finished run."""
    runs, watermarks = _tables()
    rows = session.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).all()
    lags = watermark_lags(session, now=now)
    feeds = [{"feed": row.feed, "value": row.value, "run_id": row.run_id, "updated_at": iso(row.updated_at),
              "lag_s": round(lags[row.feed], 1) if row.feed in lags else None}
             for row in session.execute(select(watermarks).order_by(watermarks.c.feed))]
    finished = last_finished_at(session)
    return {"runs": [_run(row) for row in rows], "watermarks": feeds, "last_finished_at": iso(finished),
            "last_finished_age_s": round(seconds_since(finished, now), 1) if finished else None,
            "reconcile": reconcile_checks(session, limit=limit)}


__all__ = ["etl_runs", "watermark_lags", "last_finished_at", "seconds_since"]
