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
opens its own connection. Runs never overlap in a process (``max_instances=1``), missed runs are
merged (``coalesce``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..settings import Settings

log = logging.getLogger("hie.etl")
QUERY_TIMEOUT_S = 60.0  # a worker waits this long for the owner's answer, then answers olap.unavailable


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


def schedule_etl(settings: Settings, sessions, mart):
    """A started background scheduler that loads the store into ``mart`` every ``etl_interval_s`` seconds."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from etl.jobs import run_incremental
    from etl.mart import pseudonymizer

    pseudonymize = pseudonymizer(settings)

    def run() -> None:
        try:
            result = run_incremental(sessions, mart, pseudonymize)
            log.info("etl run %s: read %s, written %s, rejected %s", result.run_id, result.rows_read,
                     result.rows_written, result.rows_rejected)
        except Exception as error:  # noqa: BLE001 - recorded as a failed run; the next run retries
            log.error("etl run failed (%s)", type(error).__name__)

    scheduler = BackgroundScheduler(daemon=True)
    first = datetime.now(timezone.utc) + timedelta(seconds=5)  # shortly after start-up, then every interval
    scheduler.add_job(run, "interval", seconds=settings.etl_interval_s, max_instances=1, coalesce=True,
                      id="etl", next_run_time=first)
    scheduler.start()
    return scheduler


__all__ = ["MartRuntime", "start_mart", "schedule_etl", "QUERY_TIMEOUT_S"]
