"""``hie etl run | status | backfill | reconcile`` and ``hie lineage`` as an operator runs them
(a subprocess on a data directory: the embedded chDB mart in DATA/mart)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from hub.store.db import session_factory
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import migrated_engine

ROOT = Path(__file__).resolve().parents[2]


def hie(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli.main", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})


def cli(*arguments: str):
    """``hie`` in this process (click's runner): the commands that do not open the mart cost no import."""
    return CliRunner().invoke(main, list(arguments))


@pytest.mark.slow
def test_operator_commands(request, tmp_path):
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    store.deliver(document("OutpatientVisit", document_id="V-1"), document("LabReport", document_id="L-1"))
    store.process()
    engine.dispose()
    data = str(tmp_path)

    # status and lineage read the OLTP store only, and a refused date range never opens the mart: in
    # this process. run, reconcile and backfill open the embedded mart in DATA/mart, which chDB lets
    # one path per process hold (this one holds the session's): each a subprocess, as an operator runs it.
    first = cli("etl", "status", "--data-dir", data)
    assert first.exit_code == 0 and "no ETL run yet" in first.output
    run = hie("etl", "run", "--data-dir", data)
    assert run.returncode == 0, run.stderr[-1500:]
    assert "fact_lab_test" in run.stdout and "run 1: read 9, written 9, rejected 0" in run.stdout  # 7 facts + 2 documents' quality rows
    status = json.loads(cli("etl", "status", "--data-dir", data, "--json").output)
    assert status["runs"][0]["status"] == "finished" and set(status["watermarks"]) == {"documents", "messages", "merges"}
    reconciled = hie("etl", "reconcile", "--data-dir", data)
    assert reconciled.returncode == 0 and "0 differ" in reconciled.stdout
    backfill = hie("etl", "backfill", "--data-dir", data, "--from", "2026-11-01", "--to", "2026-11-30")
    assert backfill.returncode == 0 and "run 2: read 7, written 7" in backfill.stdout  # the visit, 4 lab results, 2 quality rows
    assert cli("etl", "backfill", "--data-dir", data, "--from", "2026-11-30", "--to", "2026-11-01").exit_code == 2
    traced = cli("lineage", "record_encounter:1", "--data-dir", data)
    assert traced.exit_code == 0 and json.loads(traced.output)["document"]["document_id"] == "V-1"
    assert cli("lineage", "record_encounter:99", "--data-dir", data).exit_code == 1
    bad = cli("lineage", "passwords:1", "--data-dir", data)
    assert bad.exit_code == 2 and "a fact key is <table>:<row id>" in bad.output


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: a connection is refused at once
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_clickhouse_server_that_is_down_is_one_line_naming_it(request, tmp_path):
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    engine.dispose()
    port = _closed_port()
    mart = f"clickhouse://127.0.0.1:{port}/mart"
    expected = f"error: olap.unavailable: ClickHouse server at 127.0.0.1:{port} not reachable\n"
    for command in (["etl", "run"], ["etl", "reconcile"], ["etl", "backfill", "--from", "2026-11-01", "--to", "2026-11-30"]):
        result = CliRunner().invoke(main, [*command, "--data-dir", str(tmp_path), "--mart-url", mart])
        assert (result.exit_code, result.output) == (1, expected), command  # not the chDB lock, no traceback
    ran = hie("etl", "run", "--data-dir", str(tmp_path), "--mart-url", mart)  # as an operator runs it: stderr too
    assert (ran.returncode, ran.stderr, ran.stdout) == (1, expected, "")
    status = CliRunner().invoke(main, ["etl", "status", "--data-dir", str(tmp_path / "typo")])
    assert (status.exit_code, status.output.count("\n")) == (1, 1) and "store.missing" in status.output
    assert not (tmp_path / "typo").exists()  # a mistyped data directory is not made into a new hub
