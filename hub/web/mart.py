"""The mart inside a hub process: open it, and run the ETL on a schedule (apscheduler).

With the embedded chDB mart only one process may open it: ``hie serve`` (one worker by default)
opens it in its web process, which then serves the cube and lineage endpoints and runs the ETL
every ``HIE_ETL_INTERVAL`` seconds. A second worker finds the mart taken and serves no analytics
(``olap.unavailable``); use a ClickHouse server (``HIE_MART_URL``) to serve analytics from several
workers. Runs never overlap (``max_instances=1``) and missed runs are merged (``coalesce``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..settings import Settings

log = logging.getLogger("hie.etl")


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
    """Open the mart and schedule the ETL when this process is configured to own it."""
    if settings.etl_interval_s <= 0 and not settings.mart_url:
        return MartRuntime(mart=None)
    from etl.mart import open_mart, pseudonymizer
    from olap.errors import OlapError

    try:
        mart = open_mart(settings.mart_location)
    except OlapError as error:
        log.warning("analytics mart not opened in this process (%s): cube and lineage queries answer "
                    "olap.unavailable here", error.code)
        return MartRuntime(mart=None)
    if settings.etl_interval_s <= 0:
        return MartRuntime(mart=mart)
    from apscheduler.schedulers.background import BackgroundScheduler

    from etl.jobs import run_incremental

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
    return MartRuntime(mart=mart, scheduler=scheduler)


__all__ = ["MartRuntime", "start_mart"]
