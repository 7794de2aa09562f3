"""``hie-agent run``: the scheduler collects, pushes and writes replies back by itself, and stops on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from adapters.agent import Agent, load

from .conftest import ROOT, wait_until, write_config, write_documents

pytestmark = pytest.mark.slow


def test_run_moves_files_to_the_hub_and_replies_back(tmp_path, running_hub, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir)
    config.write_text(config.read_text() + "\n[schedule]\ncollect = 0.5\npush = 0.5\nreplies = 0.5\n")
    process = subprocess.Popen([sys.executable, "-m", "adapters.agent.cli", "run", "-c", str(config)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        write_documents(config.parent, 8)
        wait_until(lambda: running_hub.inbox()[0] == 8, timeout=60, message="the first files at the hub")
        write_documents(config.parent, 4, start=8)  # more arrive while it runs
        wait_until(lambda: len(list((config.parent / "replies").glob("*.xml"))) == 12, timeout=60,
                   message="12 acknowledgements written as files")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert running_hub.inbox() == (12, 12, 12)
    wait_until(lambda: running_hub.unacknowledged_replies() == 0, timeout=10, message="acks acknowledged")
    assert Agent(load(config)).status().counts["processed"] == 12
    assert b"<LabReport" not in err and "王秀英".encode() not in err  # logs carry no document content
    assert b"push: accepted=" in err  # it did log its work
