"""Child processes that must keep running (the processor; later others), restarted when they die.

``hie serve`` gives the supervisor one ``ChildSpec`` per child. A child that exits while the
supervisor is running is started again after an exponential backoff (``Backoff``: 1 s, 2 s, 4 s …
up to a cap), and one line says which child died, how (exit code or signal) and when it will be
started again. A child that stayed up long enough starts over from the first delay. A child that
writes a heartbeat (``hub.heartbeat``) and falls silent for ``silent_after_s`` is hung: it is
killed, and so restarted. Nothing here knows what the children do: adding one is adding a spec.

A child must not outlive the supervisor (two processors would then work side by side, and /healthz
report either). Each child is told at spawn time whose child it is (``HIE_SUPERVISOR_PID`` in its
environment) and calls ``follow_parent()`` first thing: on Linux the kernel then stops it (SIGTERM) when
that process dies (``PR_SET_PDEATHSIG``), and it checks right after that its parent is still that
process, so a supervisor killed while the child was starting is not missed either.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .heartbeat import read_beat

log = logging.getLogger("hie.supervisor")
SUPERVISOR_PID = "HIE_SUPERVISOR_PID"  # set in each child's environment: the pid of the process that spawned it
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class ChildSpec:
    """A child process: its name (for logs and /healthz) and how to start it."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None  # None: the supervisor's own environment
    cwd: str | None = None
    heartbeat: Path | None = None  # where the child writes its heartbeat, if it does
    silent_after_s: float = 0.0  # > 0 (with a heartbeat): a child silent this long is killed


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th restart in a row: ``initial_s`` doubled each time, at most ``cap_s``."""

    initial_s: float = 1.0
    cap_s: float = 30.0
    reset_after_s: float = 60.0  # a child up at least this long counts as healthy: the next delay is initial_s

    def delay(self, restarts_in_a_row: int) -> float:
        return min(self.cap_s, self.initial_s * 2 ** max(0, restarts_in_a_row - 1))


@dataclass
class ChildState:
    """One child as the supervisor sees it."""

    spec: ChildSpec
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    started_wall: float = 0.0
    restarts: int = 0           # restarts since the supervisor started
    in_a_row: int = 0           # restarts since the child last stayed up reset_after_s
    restart_at: float | None = None
    last_exit: str = ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None


def describe_exit(returncode: int) -> str:
    """'exited with code 3' or 'was killed by SIGKILL'."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


class Supervisor:
    """Starts its children, watches them from a thread, restarts the ones that die."""

    def __init__(self, specs: Sequence[ChildSpec], *, backoff: Backoff = Backoff(), poll_s: float = 0.2):
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        self.backoff = backoff
        self.poll_s = poll_s
        self.children = {spec.name: ChildState(spec) for spec in specs}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="hie-supervisor", daemon=True)

    def start(self) -> "Supervisor":
        for child in self.children.values():
            self._spawn(child)
        self._thread.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop restarting, ask every child to stop (SIGTERM), kill those still there after ``timeout``."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.poll_s * 5 + 1)
        with self._lock:
            running = [child.process for child in self.children.values()
                       if child.process is not None and child.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, child: ChildState) -> None:
        # Called from the thread that starts the supervisor (hie serve's main thread) or from the watcher
        # thread, both as long-lived as the supervisor: the kernel's parent-death signal follows the thread.
        spec = child.spec
        env = {**(spec.env if spec.env is not None else os.environ), SUPERVISOR_PID: str(os.getpid())}
        try:
            child.process = subprocess.Popen(list(spec.argv), env=env, cwd=spec.cwd)
        except OSError as error:  # the program itself is missing: retried like a crash
            child.process, child.started_at = None, 0.0
            self._schedule(child, f"could not be started ({error.strerror or type(error).__name__})", time.monotonic())
            return
        child.started_at = time.monotonic()
        child.started_wall = time.time()
        child.restart_at = None
        if child.restarts:
            log.info("%s started again (pid %s, restart %s)", spec.name, child.process.pid, child.restarts)

    def _schedule(self, child: ChildState, how: str, now: float) -> None:
        if child.started_at and now - child.started_at >= self.backoff.reset_after_s:
            child.in_a_row = 0
        child.in_a_row += 1
        child.restarts += 1
        delay = self.backoff.delay(child.in_a_row)
        child.restart_at = now + delay
        pid = f" (pid {child.process.pid})" if child.process is not None else ""
        up = f" after {now - child.started_at:.1f} s" if child.started_at else ""
        child.last_exit = how
        log.warning("%s%s %s%s; restarting in %.1f s (restart %s)", child.spec.name, pid, how, up, delay,
                    child.restarts)

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_s):
            now = time.monotonic()
            with self._lock:
                for child in self.children.values():
                    if self._stopping.is_set():
                        return
                    if child.restart_at is not None:
                        if now >= child.restart_at:
                            self._spawn(child)
                        continue
                    returncode = child.process.poll() if child.process is not None else None
                    if returncode is not None:
                        self._schedule(child, describe_exit(returncode), now)
                    elif child.process is not None:
                        self._kill_if_silent(child)

    def _kill_if_silent(self, child: ChildState) -> None:
        """Kill a child whose heartbeat stopped (a hung process); the next poll restarts it."""
        spec = child.spec
        if spec.heartbeat is None or spec.silent_after_s <= 0:
            return
        beat = read_beat(spec.heartbeat)
        last = beat.at if beat is not None and beat.pid == child.process.pid else child.started_wall
        silent = time.time() - max(last, child.started_wall)
        if silent > spec.silent_after_s:
            log.warning("%s (pid %s) silent for %.1f s (no heartbeat); killing it", spec.name, child.process.pid,
                        silent)
            child.process.kill()

    def status(self) -> dict[str, dict]:
        """Each child's pid (None while down), restarts and how it last ended."""
        with self._lock:
            return {name: {"pid": child.pid, "restarts": child.restarts, "last_exit": child.last_exit}
                    for name, child in self.children.items()}


def follow_parent() -> int | None:
    """Tie this process to the one that started it: the parent's pid to keep watching (``os.getppid()``
    differing from it later means it is gone), or None when it is gone already.

    The expected parent is the pid the supervisor wrote into the environment when it spawned this process
    (removed from it here, so that nothing this process starts inherits it): what ``os.getppid()`` says
    after start-up is already init's pid if the parent was killed meanwhile. Without one (started by
    hand), a parent that is init (pid 1) means this process was orphaned before it got here."""
    given = os.environ.pop(SUPERVISOR_PID, "")
    expected = int(given) if given.isdigit() else None
    if expected is not None:
        _stop_with_parent()
    parent = os.getppid()  # read after the signal is set: a parent dying from here on is caught by it
    orphaned = (parent != expected) if expected is not None else (parent == 1)
    return None if orphaned else parent


def _stop_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when its parent dies (Linux; elsewhere the callers'
    polling of ``os.getppid()`` remains)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            log.warning("parent-death signal not set (errno %s)", ctypes.get_errno())
    except (OSError, AttributeError):  # no libc to load: polling only
        log.warning("parent-death signal not available")


__all__ = ["ChildSpec", "Backoff", "Supervisor", "ChildState", "SUPERVISOR_PID", "describe_exit", "follow_parent"]
