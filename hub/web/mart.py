"""The mart inside a hub process: open it (or reach the process that owns it), and run the ETL on a
schedule (apscheduler).

chDB is an engine inside one process: the first process to open ``DATA/mart`` locks it. So
``hie serve`` with the embedded mart starts one owner process (``hie mart-owner``, in
:mod:`hub.cli.mart`) that opens chDB once, runs the ETL every ``HIE_ETL_INTERVAL`` seconds and
answers the queries of every web worker over a Unix socket in the data directory, only to processes
that hold the hub's key (:mod:`olap.remote`). Its workers (``HIE_MART_OWNER=1``) get a client with
the same :class:`~olap.backend.Backend` contract, so the cube endpoints run unchanged with any number
of workers; one worker goes through the owner too (one code path, and the ETL's CPU off the web
worker's GIL; the channel adds 0.3–1.2 ms a statement to cube queries of 8–100 ms, docs/olap.md).
While the owner is down, cube queries answer ``olap.unavailable`` (retryable); a new owner is used
at the next query.

A process not started by ``hie serve`` (an app built by ``create_app``, tests) opens the mart itself
and runs the ETL here. With a ClickHouse server (``HIE_MART_URL``) no owner is needed: each worker
of each node opens its own connection and schedules the ETL; a run happens once per mart all the
same: each scheduled run first takes the mart's lease ``etl:<mart>`` in the OLTP database
(``hub.store.lease``; ``hie etl run`` and ``backfill`` take the same one) and does nothing while
another process holds it, or when a run of any node started less than ``DUE_FRACTION`` of the
interval ago (by the database's clock). A run that lost the lease while it ran (a node stalled past it)
records nothing (``etl.lease.lost``). Runs never overlap in a process either (``max_instances=1``),
missed runs are merged (``coalesce``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from ..settings import Settings
from ..store.lease import Lease, database_now, under_lease

log = logging.getLogger("hie.etl")
QUERY_TIMEOUT_S = 60.0  # a worker waits this long for the owner's answer, then answers olap.unavailable
DUE_FRACTION = 0.75  # a scheduled run is due when the last run of any node started this much of the interval ago


@dataclass
class MartRuntime:
    mart: object | None
    scheduler: object | None = None

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        if self.mart is not None:
            self.mart.close()


def start_mart(settings: Settings, sessions) -> MartRuntime:
    """Reach the mart's owner, or open the mart and schedule the ETL when this process owns it."""
    if settings.mart_owner:
        from etl.mart import owned_mart

        return MartRuntime(mart=owned_mart(settings, timeout=QUERY_TIMEOUT_S))
    if settings.etl_interval_s <= 0 and not settings.mart_url:
        return MartRuntime(mart=None)
    from etl.mart import open_mart
    from olap.errors import OlapError

    try:
        mart = open_mart(settings.mart_location)
    except OlapError as error:
        log.warning("analytics mart not opened in this process (%s): cube and lineage queries answer "
                    "olap.unavailable here", error.code)
        return MartRuntime(mart=None)
    if settings.etl_interval_s <= 0:
        return MartRuntime(mart=mart)
    return MartRuntime(mart=mart, scheduler=schedule_etl(settings, sessions, mart))


def mart_identity(location: str) -> str:
    """The mart a location names, whichever server a node reaches it through, without credentials:
    ``clickhouse-cluster://cluster/db`` for a cluster (every replica holds the one Distributed mart),
    ``clickhouse://host:port/db`` for a single server, ``chdb://path``."""
    parts = urlsplit(location)
    if parts.scheme == "chdb":
        return f"chdb://{parts.netloc}{parts.path}"
    database = parts.path.strip("/") or "mart"
    cluster = parse_qs(parts.query).get("cluster", [""])[0]
    if cluster:
        return f"{parts.scheme}-cluster://{cluster}/{database}"
    return f"{parts.scheme}://{(parts.hostname or '127.0.0.1').lower()}:{parts.port or 9000}/{database}"


def etl_lease(settings: Settings, sessions, location: str | None = None) -> Lease:
    """The lease every ETL run into the mart at ``location`` (default: the hub's mart) takes first."""
    return Lease(sessions, f"etl:{mart_identity(location or settings.mart_location)}", ttl_s=settings.lease_ttl_s)


def last_run_started(sessions, now: datetime | None = None) -> datetime | None:
    """When the latest incremental ETL run of any process started (None: never); with ``now``, the latest
    not after it (a run dated ahead by a node whose clock ran fast is not the latest)."""
    from sqlalchemy import func, select

    from etl.models import EtlRun, RunKind

    query = select(func.max(EtlRun.started_at)).where(EtlRun.kind == RunKind.INCREMENTAL.value)
    if now is not None:
        query = query.where(EtlRun.started_at <= now)
    with sessions() as session:
        return session.scalar(query)


class ScheduledEtl:
    """One scheduler's turn, whatever the number of schedulers: when a run is due, take the mart's lease,
    run, give the lease back. Nothing happens while another process holds the lease (one line at info).

    "Due" is judged by the database's clock, which dates the runs too (``etl.jobs``): a node whose clock is
    ahead or behind neither skips its turns nor makes the others skip theirs."""

    def __init__(self, sessions, lease: Lease, run: Callable[[], object], *, interval_s: float):
        self.sessions = sessions
        self.lease = lease
        self.run = run
        self.interval_s = interval_s

    def due(self) -> bool:
        with self.sessions() as session:
            now = database_now(session)
        last = last_run_started(self.sessions, now)
        return last is None or now - last >= timedelta(seconds=self.interval_s * DUE_FRACTION)

    def __call__(self) -> bool:
        """Whether this turn ran the ETL."""
        if not self.due():
            return False
        if not self.lease.try_acquire():
            state = self.lease.state()
            log.info("etl run left to %s, which holds the mart's lease until %s",
                     state.holder if state else "another process", state.expires_at.isoformat() if state else "now")
            return False
        with self.lease.kept():
            if not self.due():  # another process ran it between our look and our lease
                return False
            self.run()
        return True


def scheduled_run(sessions, mart, pseudonymize, lease: Lease) -> Callable[[], None]:
    """One scheduled ETL run under ``lease``: it records its end only if the lease is still its own."""
    from etl.jobs import run_incremental

    leased = under_lease(sessions, lease)

    def run() -> None:
        try:
            result = run_incremental(leased, mart, pseudonymize)
            log.info("etl run %s: read %s, written %s, rejected %s", result.run_id, result.rows_read,
                     result.rows_written, result.rows_rejected)
        except Exception as error:  # noqa: BLE001 - recorded as a failed run; the next run retries
            log.error("etl run failed (%s)", getattr(error, "code", None) or type(error).__name__)

    return run


def schedule_etl(settings: Settings, sessions, mart):
    """A started background scheduler that loads the store into ``mart`` every ``etl_interval_s`` seconds."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from etl.mart import pseudonymizer

    lease = etl_lease(settings, sessions)
    turn = ScheduledEtl(sessions, lease, scheduled_run(sessions, mart, pseudonymizer(settings), lease),
                        interval_s=settings.etl_interval_s)

    def scheduled() -> None:
        try:
            turn()
        except Exception as error:  # noqa: BLE001 - the database is away: the next turn tries again
            log.error("etl turn failed (%s)", type(error).__name__)

    scheduler = BackgroundScheduler(daemon=True)
    first = datetime.now(timezone.utc) + timedelta(seconds=5)  # shortly after start-up, then every interval
    scheduler.add_job(scheduled, "interval", seconds=settings.etl_interval_s, max_instances=1, coalesce=True,
                      id="etl", next_run_time=first)
    scheduler.start()
    return scheduler


__all__ = ["MartRuntime", "ScheduledEtl", "start_mart", "schedule_etl", "scheduled_run", "etl_lease",
           "last_run_started", "mart_identity", "QUERY_TIMEOUT_S", "DUE_FRACTION"]
