"""``hie etl run | status | backfill | reconcile`` and ``hie lineage`` as an operator runs them
(a subprocess on a data directory: the embedded chDB mart in DATA/mart)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.store.db import make_engine, migrate, session_factory
from tests.support.documents import document
from tests.support.inbox import Store

ROOT = Path(__file__).resolve().parents[2]


def hie(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli.main", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_operator_commands(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate(engine)
    store = Store(session_factory(engine))
    store.deliver(document("OutpatientVisit", document_id="V-1"), document("LabReport", document_id="L-1"))
    store.process()
    engine.dispose()
    data = str(tmp_path)

    first = hie("etl", "status", "--data-dir", data)
    assert first.returncode == 0 and "no ETL run yet" in first.stdout
    run = hie("etl", "run", "--data-dir", data)
    assert run.returncode == 0, run.stderr[-1500:]
    assert "fact_lab_test" in run.stdout and "run 1: read 7, written 7, rejected 0" in run.stdout
    status = json.loads(hie("etl", "status", "--data-dir", data, "--json").stdout)
    assert status["runs"][0]["status"] == "finished" and set(status["watermarks"]) == {"documents", "messages", "merges"}
    reconciled = hie("etl", "reconcile", "--data-dir", data)
    assert reconciled.returncode == 0 and "0 differ" in reconciled.stdout
    backfill = hie("etl", "backfill", "--data-dir", data, "--from", "2026-11-01", "--to", "2026-11-30")
    assert backfill.returncode == 0 and "run 2: read 5, written 5" in backfill.stdout  # the visit + 4 lab results
    assert hie("etl", "backfill", "--data-dir", data, "--from", "2026-11-30", "--to", "2026-11-01").returncode == 2
    traced = hie("lineage", "record_encounter:1", "--data-dir", data)
    assert traced.returncode == 0 and json.loads(traced.stdout)["document"]["document_id"] == "V-1"
    assert hie("lineage", "record_encounter:99", "--data-dir", data).returncode == 1
    bad = hie("lineage", "passwords:1", "--data-dir", data)
    assert bad.returncode == 2 and "a fact key is <table>:<row id>" in bad.stderr
