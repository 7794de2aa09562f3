"""A child of ``hie serve`` (the processor, the mart's owner) never outlives it, even when ``hie serve`` is
killed (SIGKILL, OOM) while the child is still starting: two processors would otherwise run side by side
and /healthz report the orphan's pid (hub/supervisor.py ``follow_parent``)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.supervisor import SUPERVISOR_PID

from .conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# A supervised child that never polls its parent: only the kernel's parent-death signal can stop it.
# The first start exits at once, so that the child left running is one the supervisor's thread restarted.
CHILD = """
import os, sys, time
from pathlib import Path
from hub.supervisor import follow_parent
marker = Path(sys.argv[1])
if not marker.exists():
    marker.write_text("started once")
    sys.exit(3)
parent = follow_parent()
print(os.getpid(), parent, flush=True)
time.sleep(60)
"""
# hie serve's part: a supervisor starting that child, then waiting to be killed.
PARENT = """
import sys, time
from hub.supervisor import Backoff, ChildSpec, Supervisor
Supervisor([ChildSpec("child", (sys.executable, "-c", sys.argv[1], sys.argv[2]))],
           backoff=Backoff(initial_s=0.05), poll_s=0.05).start()
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie left for an init that does not reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _process(tmp_path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hub.cli.main", "process", "--data-dir", str(tmp_path),
                             "--exit-with-parent"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_processor_whose_hub_died_before_it_started_stops_at_once(tmp_path):
    """Started by hand (no supervisor's pid): its parent already gone, it was adopted by init (pid 1)."""
    started = subprocess.run(["sh", "-c", f'"{sys.executable}" -m hub.cli.main process --data-dir "{tmp_path}" '
                              '--exit-with-parent >/dev/null 2>&1 & echo $!'],
                             env=ENV, cwd=ROOT, capture_output=True, text=True, check=True)
    pid = int(started.stdout.strip())
    try:
        assert _gone_within(pid, 10), "the orphaned processor is still running 10 s after its hub died"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_processor_whose_supervisor_is_no_longer_its_parent_does_not_start(tmp_path):
    """The supervisor's pid travels in the environment at spawn time: a processor whose parent is by now
    another process (the supervisor killed meanwhile, the child adopted) knows it before doing anything."""
    child = _process(tmp_path, {**ENV, SUPERVISOR_PID: str(os.getppid())})  # not the child's parent
    try:
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 1
    assert err == "error: process.orphaned: the hub that started this processor is gone; not starting\n"
    assert not (tmp_path / "hub.db").exists()  # it stopped before opening anything


@pytest.mark.slow
def test_a_processor_whose_supervisor_is_its_parent_runs(tmp_path):
    child = _process(tmp_path, {**ENV, SUPERVISOR_PID: str(os.getpid())})
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "processor.json").exists() and time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()[1]
            time.sleep(0.1)
        assert child.poll() is None and (tmp_path / "run" / "processor.json").exists()
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_a_restarted_child_stops_when_its_supervisor_is_killed(tmp_path):
    """SIGKILL the supervising process just after it restarted a child: the kernel stops the child
    (PR_SET_PDEATHSIG, set by ``follow_parent`` for the pid the supervisor gave it), though the child
    never looks at its parent again."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(tmp_path / "marker")], env=ENV, cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child, watched = (int(value) for value in parent.stdout.readline().split())
        assert watched == parent.pid and _alive(child)
        parent.kill()
        parent.wait()
        assert _gone_within(child, 5), "the child outlived its supervisor"
    finally:
        if parent.poll() is None:
            parent.kill()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)
