"""``hie etl run | reconcile`` beside a running hub: its owner process holds the embedded mart, and
the commands work through it instead of failing on chDB's lock (``hie mart-owner``, hub/cli/mart.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.mart import reach_owner
from hub.cli.main import main
from hub.settings import Settings
from hub.store.db import session_factory
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import migrated_engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_etl_commands_work_through_a_running_owner(request, tmp_path):
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    store.deliver(document("OutpatientVisit", document_id="V-OWNER-1"))
    store.process()
    engine.dispose()
    owner = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "mart-owner", "--data-dir", str(tmp_path),
                              "--etl-interval", "0"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stderr=subprocess.PIPE)
    try:
        settings = Settings.load(tmp_path)
        deadline = time.monotonic() + 60
        while (reached := reach_owner(settings)) is None:
            assert owner.poll() is None, owner.stderr.read().decode(errors="replace")[-1500:]
            assert time.monotonic() < deadline, "the owner did not start"
            time.sleep(0.2)
        reached.close()
        run = CliRunner().invoke(main, ["etl", "run", "--data-dir", str(tmp_path)])
        assert run.exit_code == 0, run.output
        assert "working through it" in run.output and "read 3, written 3, rejected 0" in run.output  # with the document's quality row
        reconcile = CliRunner().invoke(main, ["etl", "reconcile", "--data-dir", str(tmp_path)])
        assert reconcile.exit_code == 0, reconcile.output
        assert "0 differ" in reconcile.output
    finally:
        owner.terminate()
        assert owner.wait(timeout=30) == 0  # it stops cleanly on SIGTERM
    assert not (tmp_path / "mart-owner.sock").exists()
