"""``hie mart-owner`` (hidden): the one process that owns the hub's embedded (chDB) mart.

chDB locks its directory for the process that opens it, so ``hie serve`` starts this process next
to its web workers: it opens the mart once, runs the ETL on its schedule and answers every worker's
queries on ``DATA/mart-owner.sock`` (key ``DATA/mart-owner.key``; :mod:`olap.remote`). ``hie etl``
commands run while it is up go through it too. :func:`owner_argv` is the command to run it (for
``hie serve`` or a supervisor that restarts it); with a ClickHouse server there is nothing to own.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from ..settings import Settings
from .store import open_store

log = logging.getLogger("hie.mart")


def owner_argv(settings: Settings, *, etl_interval: float) -> list[str] | None:
    """The command that runs the owner of ``settings``' embedded mart; None without one to own
    (a ClickHouse server, or no analytics: ``etl_interval`` 0). The database URL and mart URL travel
    in the environment (``HIE_DATABASE_URL``, ``HIE_MART_URL``), as for the web workers."""
    from etl.mart import is_embedded

    if etl_interval <= 0 or not is_embedded(settings.mart_location):
        return None
    return [sys.executable, "-m", "hub.cli.main", "mart-owner", "--data-dir", str(settings.data_dir),
            "--etl-interval", str(etl_interval), "--exit-with-parent"]


@click.command("mart-owner", hidden=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--database-url", default=None)
@click.option("--etl-interval", type=float, default=300.0, show_default=True,
              help="Seconds between ETL runs (0: serve queries only).")
@click.option("--exit-with-parent", is_flag=True, help="Stop when the process that started this one is gone.")
def mart_owner(data_dir, database_url, etl_interval, exit_with_parent):
    """Own the embedded mart: run its ETL and answer the hub's processes on its socket."""
    from ..supervisor import follow_parent

    parent = follow_parent() if exit_with_parent else None  # first: hie serve may be gone already
    if exit_with_parent and parent is None:
        raise click.ClickException("process.orphaned: the hub that started this mart owner is gone; not starting")

    from etl.mart import open_mart, owner_channel
    from olap.errors import OlapError
    from olap.remote import MartServer

    from ..web.mart import schedule_etl

    settings = Settings.load(data_dir, database_url=database_url, etl_interval_s=etl_interval)
    sessions = open_store(data_dir, database_url)
    try:
        mart = open_mart(settings.mart_location)
    except OlapError as error:
        raise click.ClickException(f"{error.code}: the mart cannot be opened (another process holds it?)") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = MartServer(mart, owner_channel(settings)).start()
    scheduler = schedule_etl(settings, sessions, mart) if etl_interval > 0 else None
    log.info("mart owner %s serving %s", os.getpid(), server.channel.socket_path)
    # like the processor: uvicorn may end `hie serve` without its cleanup, so notice being orphaned
    while not stop.wait(1.0):
        if exit_with_parent and os.getppid() != parent:
            break
    server.stop()
    if scheduler is not None:
        scheduler.shutdown(wait=True)
    mart.close()
    sessions.kw["bind"].dispose()


__all__ = ["mart_owner", "owner_argv"]
