"""Reconcile results kept for the monitor: ``hie etl reconcile`` records each comparison here."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ReconcileCheck
from .periods import iso

KEPT_PAIRS = 100  # differing (fact, day) pairs kept per check; the counts cover them all


def record_reconcile(session: Session, *, compared: list[dict], now: datetime) -> ReconcileCheck:
    """Keep one reconcile's outcome; ``compared`` holds one row per (fact, date): oltp, mart, difference."""
    differing = [row for row in compared if row["difference"]]
    kept = [{"fact": row["fact"], "date": str(row["date"]), "oltp": int(row["oltp"]), "mart": int(row["mart"]),
             "difference": int(row["difference"])} for row in differing[:KEPT_PAIRS]]
    check = ReconcileCheck(checked_at=now, pairs=len(compared), differing=len(differing),
                           oltp_rows=sum(int(row["oltp"]) for row in compared),
                           mart_rows=sum(int(row["mart"]) for row in compared), detail=json.dumps(kept))
    session.add(check)
    session.flush()
    return check


def reconcile_checks(session: Session, *, limit: int) -> list[dict]:
    """The latest ``limit`` reconcile outcomes, newest first."""
    checks = session.scalars(select(ReconcileCheck).order_by(ReconcileCheck.id.desc()).limit(limit))
    return [{"id": check.id, "checked_at": iso(check.checked_at), "pairs": check.pairs, "differing": check.differing,
             "oltp_rows": check.oltp_rows, "mart_rows": check.mart_rows, "differences": json.loads(check.detail)}
            for check in checks]


__all__ = ["record_reconcile", "reconcile_checks", "KEPT_PAIRS"]
