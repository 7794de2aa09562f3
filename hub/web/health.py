"""``/healthz``: each part of the hub and whether it works; 503 naming the failing part when one is down.

Parts: ``web`` (this worker answered), ``database`` (a query within ``health_timeout_s``),
``processor`` (its heartbeat file, and the backlog: how many messages await processing and the
age of the oldest; an old backlog degrades the part even where this node runs no processor), ``mart`` (whether it answers ``SELECT 1`` — in the process, through the
embedded mart's owner, or a ClickHouse server; reported, never required: the exchange works
without it), ``disk`` (free space in the data directory). A required part that is down makes the answer 503 and the status ``down``; anything short of that that is not ``ok``
makes it ``degraded`` (still 200). The answer is always JSON, never a traceback.
"""
from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from olap.errors import OlapError

from ..heartbeat import read_beat, why_down
from ..monitor import Backlog, read_backlog  # shared with /metrics and the monitor
from ..runtime import Hub
from ..settings import Settings

OK, DEGRADED, DOWN, OFF = "ok", "degraded", "down", "off"


def probe_database(hub: Hub) -> Backlog:
    """A round trip to the database (``SELECT 1``), then the backlog."""
    with hub.sessions() as session:
        session.execute(text("SELECT 1"))
        return read_backlog(session)


def processor_part(settings: Settings, backlog: Backlog | None, now: datetime) -> dict:
    """The processor as its heartbeat shows it, with the backlog when the database answered."""
    beat = read_beat(settings.processor_heartbeat)
    reason = why_down(beat, stale_s=settings.processor_stale_s, now=now.timestamp())
    part: dict = {"required": settings.expects_processor}
    if reason is None:
        part.update(status=OK, pid=beat.pid, up_s=round(now.timestamp() - beat.started_at, 1),
                    heartbeat_age_s=round(max(0.0, now.timestamp() - beat.at), 1))
    elif settings.expects_processor:
        part.update(status=DOWN, reason=reason)
        if beat is not None:
            part.update(pid=beat.pid, heartbeat_age_s=round(max(0.0, now.timestamp() - beat.at), 1))
    else:
        part.update(status=OFF, reason="not run by this hub")
    if backlog is not None:
        part.update(backlog=backlog.count, backlog_age_s=round(backlog.age_s(now), 1), retrying=backlog.retrying)
        # Judged where no processor runs too: on a node of several (hie serve --no-processor) an old
        # backlog means the processors elsewhere are not keeping up. A processor down stays down.
        if part["status"] in (OK, OFF) and backlog.age_s(now) > settings.backlog_warn_s:
            part.update(status=DEGRADED, reason=f"oldest message waits longer than {settings.backlog_warn_s:g} s")
    return part


def disk_part(settings: Settings) -> dict:
    """Free space where the data directory is (the database, the mart, the logs)."""
    try:
        free_mb = shutil.disk_usage(settings.data_dir).free // (1024 * 1024)
    except OSError as error:
        return {"status": DOWN, "required": True, "reason": error.strerror or type(error).__name__}
    part = {"status": OK, "required": True, "free_mb": free_mb, "min_free_mb": settings.min_free_disk_mb}
    if free_mb < settings.min_free_disk_mb:
        part.update(status=DOWN, reason="less free space than HIE_MIN_FREE_DISK_MB")
    return part


def mart_part(settings: Settings, mart: object | None, answered: str | None) -> dict:
    """Whether this worker reaches the analytics mart (in the process, through the embedded mart's
    owner, or a ClickHouse server); ``answered`` is None when a ``SELECT 1`` came back, else why not.
    Only reported, never required: the exchange works without the mart."""
    if mart is not None:
        if answered is None:
            return {"status": OK, "required": False}
        return {"status": DOWN, "required": False, "reason": answered}
    if settings.etl_interval_s <= 0 and not settings.mart_url:
        return {"status": OFF, "required": False}
    return {"status": DEGRADED, "required": False, "reason": "mart not opened in this worker"}


def probe_mart(mart) -> None:
    mart.execute("SELECT 1")


def overall(parts: dict[str, dict]) -> tuple[str, list[str]]:
    """``down`` with the failing required parts, ``degraded``, or ``ok``."""
    failing = [name for name, part in parts.items() if part["status"] == DOWN and part.get("required", True)]
    if failing:
        return DOWN, failing
    if any(part["status"] not in (OK, OFF) for part in parts.values()):
        return DEGRADED, []
    return OK, []


class HealthCheck:
    """Answers /healthz for one hub process; the database is probed on a thread with a deadline."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hie-health")

    def database(self) -> tuple[dict, Backlog | None]:
        started = time.monotonic()
        future = self._pool.submit(probe_database, self.hub)
        try:
            backlog = future.result(timeout=self.hub.settings.health_timeout_s)
        except FutureTimeout:
            return {"status": DOWN, "required": True, "code": "server.unavailable",
                    "reason": f"no answer within {self.hub.settings.health_timeout_s:g} s"}, None
        except SQLAlchemyError as error:  # the driver's text may hold the URL: only the kind is reported
            return {"status": DOWN, "required": True, "code": "server.unavailable",
                    "reason": type(getattr(error, "orig", None) or error).__name__}, None
        return {"status": OK, "required": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}, backlog

    def mart(self, mart: object | None) -> str | None:
        """None when the mart answered ``SELECT 1`` within the deadline, else why not (its code)."""
        if mart is None:
            return None
        future = self._pool.submit(probe_mart, mart)
        try:
            future.result(timeout=self.hub.settings.health_timeout_s)
        except FutureTimeout:
            return f"no answer within {self.hub.settings.health_timeout_s:g} s"
        except OlapError as error:
            return error.code
        except Exception as error:  # noqa: BLE001 - a health probe reports, it never fails the request
            return type(error).__name__
        return None

    def __call__(self, mart: object | None) -> tuple[int, dict]:
        settings = self.hub.settings
        now = datetime.now(timezone.utc)
        database, backlog = self.database()
        parts = {"web": {"status": OK, "required": True, "pid": os.getpid()},
                 "processor": processor_part(settings, backlog, now),
                 "database": database,
                 "mart": mart_part(settings, mart, self.mart(mart)),
                 "disk": disk_part(settings)}
        status, failing = overall(parts)
        body = {"status": status, "parts": parts,
                "crl_next_update": str(self.hub.trust.crl_next_update or "")}
        if failing:
            body["failing"] = failing
        return (503 if failing else 200), body


def health_router(hub: Hub) -> APIRouter:
    """The ``/healthz`` route of one hub process."""
    router = APIRouter()
    check = HealthCheck(hub)

    @router.get("/healthz")
    def healthz(request: Request) -> JSONResponse:
        status_code, body = check(getattr(request.app.state, "mart", None))
        return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})

    return router


__all__ = ["Backlog", "HealthCheck", "health_router", "read_backlog", "processor_part", "disk_part", "overall"]
