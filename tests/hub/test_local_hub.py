"""The hub a command starts for itself (hie demo, hie region load): stopped with everything it supervises,
and gone by itself when the command is killed outright (nothing left holding the data directory)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certs import init_pki
from hub.cli.local_hub import LocalHub
from tests.support.migrated import copy_migrated

ROOT = Path(__file__).resolve().parents[2]


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def data_dir(tmp_path, request):
    init_pki(tmp_path / "data" / "pki", hub_name="测试区域卫生信息平台")
    copy_migrated(request, f"sqlite:///{tmp_path / 'data' / 'hub.db'}")  # the hub starts without migrating
    return tmp_path / "data"


def test_stopping_a_local_hub_stops_its_processor_and_mart_owner(data_dir):
    with LocalHub(data_dir, etl_interval=86400) as hub:
        group = hub.process.pid
        assert _group_alive(group)
    assert not _group_alive(group)  # the hub, its processor and its mart owner: none left


def test_a_hub_whose_starter_is_killed_stops_by_itself(data_dir):
    starter = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from pathlib import Path\n"
         "from hub.cli.local_hub import LocalHub\n"
         "hub = LocalHub(Path(sys.argv[1]), etl_interval=86400).__enter__()\n"
         "print(hub.process.pid, flush=True)\n"
         "time.sleep(600)\n", str(data_dir)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        group = int(starter.stdout.readline())
        assert _group_alive(group)
        starter.send_signal(signal.SIGKILL)  # an operator's kill -9: no cleanup runs in the starter
        starter.wait()
        deadline = time.monotonic() + 30
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _group_alive(group)
    finally:
        starter.kill()
