"""``hie etl run | status | backfill | reconcile`` and ``hie lineage FACT-KEY``.

``run`` and ``backfill`` take the mart's lease first (``etl:<mart>``, ``hub.web.mart.etl_lease``), as the
hubs' scheduled runs do: while another process holds it they answer ``etl.busy`` and exit 1, or wait for
it with ``--wait``. ``status`` names the holder.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import click

_data_dir = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                         help="The hub's data directory (OLTP database; embedded mart in DATA/mart).")
_database_url = click.option("--database-url", default=None, help="OLTP SQLAlchemy URL (default: DATA/hub.db).")
_mart_url = click.option("--mart-url", default=None,
                         help="chdb:///path or clickhouse://host:port/db[?cluster=name&alt_hosts=h:p,…] (default: HIE_MART_URL, "
                              "else chDB in DATA/mart).")
_wait = click.option("--wait", is_flag=True, help="While another ETL run holds the mart's lease, wait for it "
                                                  "(default: answer etl.busy and exit 1).")
WAIT_POLL_S = 1.0  # --wait: how often the lease is tried again


def _open(data_dir: Path, database_url: str | None, mart_url: str | None, *, mart: bool = True):
    from ..settings import Settings
    from .store import open_store

    settings = Settings.load(data_dir, database_url=database_url)
    sessions = open_store(data_dir, database_url, create=False)  # the ETL reads a hub's store, never a new one
    if not mart:
        return settings, sessions, None
    return settings, sessions, _open_mart(settings, mart_url)


def _open_mart(settings, mart_url: str | None):
    from etl.mart import is_embedded, open_mart, pseudonymizer, reach_owner
    from olap.errors import BackendUnavailable

    location = mart_url or settings.mart_location
    # A running hub's owner process holds its embedded mart: work through it (same calls, same data).
    owner = reach_owner(settings) if location == settings.mart_location and is_embedded(location) else None
    if owner is not None:
        click.echo("the hub's mart owner process holds the mart: working through it", err=True)
        return owner, pseudonymizer(settings)
    try:
        backend = open_mart(location)
    except BackendUnavailable as error:
        if not error.code.startswith("olap.chdb."):
            raise  # a ClickHouse server: hub.cli.errors says which one is not reachable
        raise click.ClickException(
            f"{error.code}: the mart cannot be opened. An embedded (chDB) mart belongs to one process at a "
            "time, and no hub's mart owner answers on this data directory: stop the process that holds it "
            "(or use `hie etl` on the data directory of the hub that owns it).") from None
    return backend, pseudonymizer(settings)


@contextmanager
def _leased(data_dir: Path, database_url: str | None, mart_url: str | None, *, wait: bool):
    """The store and the mart, with the mart's lease held (and renewed) until the block ends;
    ``etl.busy`` while another process holds it, unless ``wait``."""
    from etl.errors import EtlError

    from ..store.lease import under_lease
    from ..web.mart import etl_lease

    settings, sessions, _ = _open(data_dir, database_url, None, mart=False)
    lease = etl_lease(settings, sessions, mart_url)
    told = False
    while not lease.try_acquire():
        state = lease.state()
        holder = state.holder if state else "another process"
        until = f"{state.expires_at:%Y-%m-%dT%H:%M:%SZ}" if state else "now"
        if not wait:
            raise EtlError("etl.busy", f"an ETL run holds the mart's lease (holder {holder}, until {until}); "
                                       "try again later (or --wait)", holder=holder)
        if not told:
            click.echo(f"waiting for the mart's lease (holder {holder})", err=True)
            told = True
        time.sleep(WAIT_POLL_S)
    with lease.kept():  # the run records its end only if the lease is still its own (etl.lease.lost)
        yield settings, under_lease(sessions, lease), _open_mart(settings, mart_url)


@click.group()
def etl() -> None:
    """Load the health-record store into the OLAP mart (incremental, idempotent), and check it."""


@etl.command()
@_data_dir
@_database_url
@_mart_url
@_wait
def run(data_dir, database_url, mart_url, wait):
    """Load what changed since the last run (the first run loads everything)."""
    run_once(data_dir, database_url, mart_url, wait=wait)


def run_once(data_dir: Path, database_url: str | None = None, mart_url: str | None = None, *, wait: bool = True):
    """One incremental run with its progress bar and summary (``hie etl run``, ``hie region load``)."""
    from etl.facts import FACT_TABLES
    from etl.jobs import run_incremental

    with _leased(data_dir, database_url, mart_url, wait=wait) as (_settings, sessions, (mart, pseudonymize)), \
            click.progressbar(length=len(FACT_TABLES), label="etl run", show_pos=True,
                              item_show_func=lambda fact: fact or "") as bar:
        result = run_incremental(sessions, mart, pseudonymize, progress=lambda fact, written: bar.update(1, fact))
    for fact, counts in result.per_fact.items():
        click.echo(f"  {fact:<28} read {counts['read']:>10,}  written {counts['written']:>10,}  "
                   f"rejected {counts['rejected']:>6,}")
    click.echo(f"run {result.run_id}: read {result.rows_read:,}, written {result.rows_written:,}, "
               f"rejected {result.rows_rejected:,} in {result.seconds:.2f} s "
               f"(window {result.watermark_from or 'beginning'} → {result.watermark_to})")
    return result


@etl.command()
@_data_dir
@_database_url
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First local date.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last local date (included).")
@_mart_url
@_wait
def backfill(data_dir, database_url, start, end, mart_url, wait):
    """Reload the documents of a clinical date range and the messages received then."""
    from etl.facts import FACT_TABLES
    from etl.jobs import backfill as run_backfill

    if end < start:
        raise click.BadParameter("--to is before --from")
    with _leased(data_dir, database_url, mart_url, wait=wait) as (_settings, sessions, (mart, pseudonymize)), \
            click.progressbar(length=len(FACT_TABLES), label="backfill", show_pos=True,
                              item_show_func=lambda fact: fact or "") as bar:
        result = run_backfill(sessions, mart, pseudonymize, start=start.date(), end=end.date(),
                              progress=lambda fact, written: bar.update(1, fact))
    click.echo(f"run {result.run_id}: read {result.rows_read:,}, written {result.rows_written:,}, "
               f"rejected {result.rows_rejected:,} in {result.seconds:.2f} s")


@etl.command()
@_data_dir
@_database_url
@_mart_url
@click.option("--json", "as_json", is_flag=True)
def status(data_dir, database_url, mart_url, as_json):
    """Watermarks, the latest runs, and who holds the mart's lease."""
    from etl.jobs import status as etl_status

    from ..store.lease import database_now
    from ..web.mart import etl_lease

    settings, sessions, _ = _open(data_dir, database_url, None, mart=False)
    state = etl_status(sessions)
    lease = etl_lease(settings, sessions, mart_url)
    held = lease.state()
    with sessions() as session:
        now = database_now(session)
    if held is not None and held.expires_at < now:
        held = None  # expired: free for the next run
    state["lease"] = {"name": lease.name, "holder": held.holder if held else None,
                      "acquired_at": held.acquired_at.isoformat() if held else None,
                      "expires_at": held.expires_at.isoformat() if held else None}
    if as_json:
        click.echo(json.dumps(state, ensure_ascii=False, indent=2))
        return
    if held is None:
        click.echo(f"lease {lease.name}: free (no ETL run now)")
    else:
        click.echo(f"lease {lease.name}: held by {held.holder} since {held.acquired_at:%Y-%m-%dT%H:%M:%SZ}, "
                   f"until {held.expires_at:%Y-%m-%dT%H:%M:%SZ} unless renewed")
    for feed, value in sorted(state["watermarks"].items()):
        click.echo(f"watermark {feed:<10} {value}")
    if not state["runs"]:
        click.echo("no ETL run yet: hie etl run --data-dir …")
    for run_ in state["runs"]:
        click.echo(f"run {run_['id']:>5} {run_['kind']:<11} {run_['status']:<8} {run_['started_at']}  "
                   f"read {run_['rows_read']:,} written {run_['rows_written']:,} rejected {run_['rows_rejected']:,}")


@etl.command()
@_data_dir
@_database_url
@_mart_url
@click.option("--all", "show_all", is_flag=True, help="Also list the (fact, day) pairs that agree.")
def reconcile(data_dir, database_url, mart_url, show_all):
    """Compare OLTP and mart counts per fact and day; exit 1 on any difference."""
    from etl.reconcile import reconcile as compare
    from protocol.timestamps import utcnow

    from ..monitor import record_reconcile
    from ..store.db import transaction

    _settings, sessions, (mart, _) = _open(data_dir, database_url, mart_url)
    table = compare(sessions, mart)
    with transaction(sessions) as session:  # kept for the exchange monitor (/api/monitor/etl)
        record_reconcile(session, compared=table.to_dict("records"), now=utcnow())
    differing = table[table["difference"] != 0]
    shown = table if show_all else differing
    for row in shown.itertuples():
        click.echo(f"{row.fact:<28} {row.date}  oltp {row.oltp:>8,}  mart {row.mart:>8,}  difference {row.difference:+,}")
    click.echo(f"{len(table)} (fact, day) pairs compared, {len(differing)} differ")
    if len(differing):
        raise SystemExit(1)


@click.command()
@click.argument("fact_key")
@_data_dir
@_database_url
def lineage(fact_key, data_dir, database_url):
    """Trace a mart fact (e.g. record_encounter:42) to its OLTP row and the signed message behind it."""
    from etl.errors import LineageError
    from etl.lineage import lineage as trace

    _settings, sessions, _ = _open(data_dir, database_url, None, mart=False)
    try:
        with sessions() as session:
            answer = trace(session, fact_key)
    except LineageError as error:
        raise click.BadParameter(str(error), param_hint="FACT_KEY") from None
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    if not answer["found"]:
        raise SystemExit(1)


__all__ = ["etl", "lineage"]
