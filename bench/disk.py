"""The disk's floor: how long an ``fdatasync`` of a small log write takes on this machine, now.

The open-loop latency target is bound by the disk as much as by the CPU: every acknowledged
submission waits for an ``fdatasync`` of SQLite's log, and on a shared VM disk some of those take
50–1,000 ms, at rates that change from one hour to the next (measured here: 1 stall over 50 ms in
40 s at one time, 12 in 30 s with nothing else running 40 minutes later). The benchmark measures
this beside the crypto floor, before and after the phases, so that a result can be read against
the state of the disk it was measured on.
"""
from __future__ import annotations

import os
import tempfile
import time

from .exchange import latency_summary

RECORD = 24 * 1024  # about one small group commit of the intake
RING = 8 << 20  # the log is rewritten in place after each checkpoint restart, as SQLite's is
STALL_MS = 50.0


def disk_floor(seconds: float = 10.0, *, directory: str | None = None, interval: float = 0.01) -> dict:
    """``fdatasync`` latencies of 24 KiB writes, every ``interval`` s, in a file in ``directory``
    (the temp directory, where the benchmark's hub keeps its database, by default)."""
    payload = os.urandom(RECORD)
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hie-disk-", dir=directory) as tmp:
        path = os.path.join(tmp, "probe-wal")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, bytes(RING), 0)
            os.fsync(fd)
            offset, end = 0, time.monotonic() + seconds
            while time.monotonic() < end:
                if offset + RECORD > RING:
                    offset = 0
                os.pwrite(fd, payload, offset)
                offset += RECORD
                started = time.perf_counter()
                os.fdatasync(fd)
                latencies.append(time.perf_counter() - started)
                time.sleep(interval)
        finally:
            os.close(fd)
    summary = latency_summary(latencies)
    stalls = [value * 1000 for value in latencies if value * 1000 > STALL_MS]
    return {"seconds": seconds, "syncs": summary["count"], "p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"],
            "max_ms": summary["max_ms"], f"over_{STALL_MS:g}_ms": len(stalls), "stalled_ms": round(sum(stalls), 1)}


__all__ = ["disk_floor", "STALL_MS"]
