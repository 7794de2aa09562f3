"""Reconcile results are kept (``hie etl reconcile``) and shown with the ETL runs (/api/monitor/etl)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.monitor import KEPT_PAIRS, record_reconcile
from hub.monitor.models import ReconcileCheck
from hub.store.db import session_factory, transaction
from protocol.timestamps import utcnow
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import migrated_engine

ROOT = Path(__file__).resolve().parents[2]


def test_a_reconcile_outcome_is_shown_with_the_etl_runs(hub, api):
    compared = [{"fact": "fact_encounter", "date": date(2026, 12, day), "oltp": 5, "mart": 5 - (day == 2),
                 "difference": -(day == 2)} for day in (1, 2, 3)]
    compared += [{"fact": "fact_lab_test", "date": date(2026, 1 + n // 28, 1 + n % 28), "oltp": 1, "mart": 0,
                  "difference": -1} for n in range(KEPT_PAIRS + 5)]
    with transaction(hub.sessions) as session:
        record_reconcile(session, compared=compared[:3], now=utcnow())
        record_reconcile(session, compared=compared, now=utcnow())
    [latest, first] = api("BUREAU").get("/api/monitor/etl").json()["reconcile"]
    assert (first["pairs"], first["differing"], first["oltp_rows"], first["mart_rows"]) == (3, 1, 15, 14)
    assert first["differences"] == [{"fact": "fact_encounter", "date": "2026-12-02", "oltp": 5, "mart": 4,
                                     "difference": -1}]
    assert (latest["pairs"], latest["differing"]) == (KEPT_PAIRS + 8, KEPT_PAIRS + 6)
    assert len(latest["differences"]) == KEPT_PAIRS  # the counts cover every pair; the list the first ones


@pytest.mark.slow
def test_hie_etl_reconcile_keeps_its_outcome(request, tmp_path):
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    store.deliver(document("OutpatientVisit", document_id="V-1"), document("LabReport", document_id="L-1"))
    store.process()
    reconciled = subprocess.run([sys.executable, "-m", "hub.cli.main", "etl", "reconcile", "--data-dir", str(tmp_path)],
                                cwd=ROOT, capture_output=True, text=True, timeout=180,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert reconciled.returncode == 1, reconciled.stderr[-1500:]  # nothing loaded yet: every pair differs
    with session_factory(engine)() as session:
        [check] = session.scalars(select(ReconcileCheck)).all()
    assert check.differing == check.pairs > 0 and check.mart_rows == 0 < check.oltp_rows
    assert f"{check.pairs} (fact, day) pairs compared, {check.differing} differ" in reconciled.stdout
    engine.dispose()
