"""The supervisor on real child processes: a child that dies is restarted after a growing delay,
one line says which child, how it ended and when it comes back; stop() ends every child."""
from __future__ import annotations

import logging
import os
import signal
import sys
import time

import pytest

from hub.heartbeat import read_beat
from hub.supervisor import Backoff, ChildSpec, Supervisor, describe_exit

from .conftest import ROOT

SLEEPER = (sys.executable, "-c", "import time; time.sleep(60)")
CRASHER = (sys.executable, "-c", "import sys; sys.exit(3)")


def _until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] == "Z"


def test_backoff_doubles_up_to_its_cap():
    backoff = Backoff(initial_s=1, cap_s=30)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_exit_is_described_by_code_or_signal():
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"


def test_killed_child_is_restarted_and_the_death_logged(caplog):
    caplog.set_level(logging.INFO, logger="hie.supervisor")
    supervisor = Supervisor([ChildSpec("processor", SLEEPER), ChildSpec("other", SLEEPER)],
                            backoff=Backoff(initial_s=0.3), poll_s=0.02).start()
    try:
        first = supervisor.status()["processor"]["pid"]
        other = supervisor.status()["other"]["pid"]
        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        _until(lambda: supervisor.status()["processor"]["pid"] is None)  # down during the backoff
        second = _until(lambda: supervisor.status()["processor"]["pid"])
        assert second != first and time.monotonic() - killed_at >= 0.3
        assert supervisor.status()["other"] == {"pid": other, "restarts": 0, "last_exit": ""}
        assert supervisor.status()["processor"]["restarts"] == 1
    finally:
        supervisor.stop()
    deaths = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(deaths) == 1
    assert deaths[0].startswith(f"processor (pid {first}) was killed by SIGKILL after ")
    assert deaths[0].endswith("; restarting in 0.3 s (restart 1)")
    assert _gone(second) and _gone(other)


def test_crash_loop_backs_off_and_a_child_that_stays_up_starts_over(caplog):
    caplog.set_level(logging.INFO, logger="hie.supervisor")
    supervisor = Supervisor([ChildSpec("processor", CRASHER)], backoff=Backoff(initial_s=0.1, cap_s=0.4),
                            poll_s=0.01).start()
    try:
        _until(lambda: supervisor.status()["processor"]["restarts"] >= 4)
    finally:
        supervisor.stop()
    deaths = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    delays = [float(line.split("restarting in ")[1].split(" s")[0]) for line in deaths[:4]]
    assert delays == [0.1, 0.2, 0.4, 0.4]
    assert all("exited with code 3" in line for line in deaths)

    # A child up longer than reset_after_s is restarted after the first delay again.
    caplog.clear()
    steady = Supervisor([ChildSpec("processor", SLEEPER)], backoff=Backoff(initial_s=0.1, cap_s=5, reset_after_s=0.5),
                        poll_s=0.01).start()
    try:
        for _ in range(2):  # two quick deaths: the delay grows
            pid = _until(lambda: steady.status()["processor"]["pid"])
            os.kill(pid, signal.SIGKILL)
            _until(lambda: steady.status()["processor"]["pid"] not in (None, pid))
        time.sleep(0.6)  # then it stays up
        os.kill(steady.status()["processor"]["pid"], signal.SIGKILL)
        _until(lambda: steady.status()["processor"]["restarts"] == 3)
    finally:
        steady.stop()
    delays = [line.split("restarting in ")[1] for line in
              (r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)]
    assert delays == ["0.1 s (restart 1)", "0.2 s (restart 2)", "0.1 s (restart 3)"]


def test_stop_ends_children_and_restarts_nothing():
    supervisor = Supervisor([ChildSpec("a", SLEEPER), ChildSpec("b", SLEEPER)], poll_s=0.01).start()
    pids = [child["pid"] for child in supervisor.status().values()]
    supervisor.stop(timeout=5)
    assert all(_gone(pid) for pid in pids)
    assert all(child["pid"] is None and child["restarts"] == 0 for child in supervisor.status().values())


def test_names_are_unique():
    with pytest.raises(ValueError):
        Supervisor([ChildSpec("processor", SLEEPER), ChildSpec("processor", SLEEPER)])


def test_a_child_whose_heartbeat_stops_is_killed_and_restarted(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="hie.supervisor")
    beat = tmp_path / "run" / "child.json"
    # beats once, then hangs (alive, silent)
    hangs = (sys.executable, "-c", "import sys, time; from pathlib import Path; from hub.heartbeat import Heartbeat; "
             "Heartbeat(Path(sys.argv[1])).beat(); time.sleep(60)", str(beat))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    supervisor = Supervisor([ChildSpec("processor", hangs, env=env, cwd=str(ROOT), heartbeat=beat, silent_after_s=2.0)],
                            backoff=Backoff(initial_s=0.1), poll_s=0.05).start()
    try:
        first = supervisor.status()["processor"]["pid"]
        _until(lambda: read_beat(beat) is not None and read_beat(beat).pid == first)
        _until(lambda: supervisor.status()["processor"]["pid"] not in (None, first), timeout=15)
    finally:
        supervisor.stop()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines[0].startswith(f"processor (pid {first}) silent for ") and lines[0].endswith("(no heartbeat); killing it")
    assert lines[1].startswith(f"processor (pid {first}) was killed by SIGKILL after ")
