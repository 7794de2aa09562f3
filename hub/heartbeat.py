"""A process's heartbeat: a small file (pid, host, start, last beat) that other processes read.

The processor writes one in the data directory as it works; the web workers read it to answer
``/healthz`` (a stale beat, or a beat whose process is gone, means the processor is down). A
file, not a database row: it says the process is alive even while the database is not, and it
costs no write transaction on the hot path.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)


class Beat(NamedTuple):
    """What a heartbeat file holds (times are seconds since the epoch)."""

    pid: int
    host: str
    started_at: float
    at: float


class Heartbeat:
    """Writes one process's heartbeat file, at most every ``every_s`` seconds (atomic rename)."""

    def __init__(self, path: Path, *, every_s: float = 1.0):
        self.path = Path(path)
        self.every_s = every_s
        self.started_at = time.time()
        self._last = 0.0
        self._failing = False

    def beat(self, *, force: bool = False) -> None:
        """Record that this process is alive now (a failed write is logged once, never raised)."""
        now = time.time()
        if not force and now - self._last < self.every_s:
            return
        beat = Beat(pid=os.getpid(), host=socket.gethostname(), started_at=self.started_at, at=now)
        scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch.write_text(json.dumps(beat._asdict()), encoding="utf-8")
            os.replace(scratch, self.path)
        except OSError as error:  # a full disk: /healthz reports the disk, and this beat as stale
            if not self._failing:
                log.error("heartbeat %s not written (%s)", self.path.name, error.strerror or type(error).__name__)
            self._failing = True
            return
        self._failing = False
        self._last = now

    def clear(self) -> None:
        """Remove the file on a clean stop, if it is still this process's."""
        found = read_beat(self.path)
        if found is not None and found.pid == os.getpid() and found.host == socket.gethostname():
            self.path.unlink(missing_ok=True)


def read_beat(path: Path) -> Beat | None:
    """The last beat written at ``path``; None when there is none (or it is unreadable)."""
    try:
        fields = json.loads(Path(path).read_text(encoding="utf-8"))
        return Beat(pid=int(fields["pid"]), host=str(fields["host"]), started_at=float(fields["started_at"]),
                    at=float(fields["at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def why_down(beat: Beat | None, *, stale_s: float, now: float | None = None) -> str | None:
    """Why the process behind ``beat`` is not alive (None when it is)."""
    if beat is None:
        return "no heartbeat"
    if beat.host == socket.gethostname() and not _running(beat.pid):
        return "process gone"
    if (now if now is not None else time.time()) - beat.at > stale_s:
        return "heartbeat stale"
    return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:  # a zombie (dead, not yet reaped by its parent) still answers signal 0
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


__all__ = ["Beat", "Heartbeat", "read_beat", "why_down"]
