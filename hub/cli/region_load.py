"""``hie region load DIR --data-dir DATA``: the synthetic region through the real exchange, then the ETL.

Stages, each printed with its time and throughput: prepare (PKI, member certificates, registry),
the hub started on DATA (unless ``--hub-url`` names one already serving DATA), send (members in
parallel processes, signed and encrypted SubmitBatch requests, a progress bar), processing (until
the hub's processor has normalised everything), ETL (one incremental run into the mart). Stopped at
any point and run again, it continues where it stopped without storing anything twice (the ledger
in DATA, region/ledger.py).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click


def _rate(count: int, seconds: float) -> str:
    return f"{count:,} in {seconds:.1f} s ({count / seconds:,.0f}/s)" if seconds > 0 else f"{count:,}"


class Progress:
    """A progress bar on a terminal; in a log (not a terminal), one line at every tenth of the way."""

    def __init__(self):
        self.bar, self.total, self.done, self.next_line, self.started = None, 0, 0, 0, time.perf_counter()

    def start(self, total: int) -> None:
        self.total, self.started = max(total, 1), time.perf_counter()
        self.next_line = self.total // 10
        if sys.stdout.isatty():
            self.bar = click.progressbar(length=self.total, label="send     ", show_pos=True, show_eta=True)
            self.bar.__enter__()

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.done >= self.next_line and self.done < self.total:
            seconds = time.perf_counter() - self.started
            click.echo(f"send      {self.done:,} of about {self.total:,} documents ({self.done / self.total:.0%}, "
                       f"{seconds:.0f} s)")
            self.next_line += self.total // 10 or 1

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def load_region(region_dir: Path, data_dir: Path, *, workers: int = 2, hub_url: str | None = None,
                database_url: str | None = None, port: int = 0, etl: bool = True) -> dict:
    """Run every stage; the figures per stage. Used by the command and by ``hie demo`` (whose hub runs
    the ETL on its own schedule: ``etl=False``)."""
    from region import GENERATOR_VERSION, Generated, RegionError
    from region.ledger import Ledger
    from region.load import Target, outcomes, prepare, send, wait_processed

    from .etl import run_once
    from .local_hub import LocalHub

    try:
        generated = Generated.open(region_dir)
    except RegionError as error:
        raise click.ClickException(f"{error.code}: {error.detail}") from None
    try:  # before anything is written: a data directory holding another region's load is refused
        Ledger(data_dir / "region-load.sqlite").claim(seed=generated.seed, size=generated.size,
                                                      generator_version=GENERATOR_VERSION)
    except RegionError as error:
        raise click.ClickException(f"{error.code}: {error.detail}") from None
    figures: dict = {}
    started = time.perf_counter()
    counts = prepare(generated, data_dir, database_url=database_url)
    figures["prepare"] = time.perf_counter() - started
    click.echo(f"prepare   {counts['certificates issued']} member certificates issued, "
               f"{counts['registry entries']} registry entries, {counts['population rows']} districts' population "
               f"({figures['prepare']:.1f} s)")

    def stages(base_url: str) -> None:
        ledger = Ledger(data_dir / "region-load.sqlite")
        progress = Progress()
        try:
            result = send(generated, region_dir, ledger=ledger, target=Target(base_url, data_dir / "pki", data_dir / "clinics"),
                          workers=workers, total=progress.start, on_progress=progress.update)
        except RegionError as error:
            raise click.ClickException(f"{error.code}: {error.detail}") from None
        finally:
            progress.finish()
        figures["send"] = (result.documents, result.seconds)
        refused = ", ".join(f"{n} {code}" for code, n in sorted(result.refused.items())) or "none"
        click.echo(f"send      {_rate(result.documents, result.seconds)}; {result.member_months} member-months "
                   f"sent, {result.skipped} already sent before; refused at the door: {refused}")
        started = time.perf_counter()
        left = wait_processed(data_dir, database_url=database_url)
        seconds = time.perf_counter() - started
        figures["processing"] = (left, seconds)
        counts, _ = outcomes(data_dir, database_url=database_url)
        summary = ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items()))
        click.echo(f"process   {left:,} still queued after sending, drained in {seconds:.1f} s; the hub's messages: "
                   f"{summary}")
        if not etl:
            return
        started = time.perf_counter()
        run = run_once(data_dir, database_url)
        figures["etl"] = (run.rows_written, time.perf_counter() - started)
        click.echo(f"etl       {_rate(run.rows_written, figures['etl'][1])} fact rows written")

    if hub_url:
        stages(hub_url.rstrip("/"))
    else:
        started = time.perf_counter()
        # a long ETL interval: the loader runs the ETL itself once everything is processed
        with LocalHub(data_dir, port=port, etl_interval=86400, database_url=database_url) as hub:
            figures["hub start"] = time.perf_counter() - started
            click.echo(f"hub       serving {hub.base} ({figures['hub start']:.1f} s)")
            stages(hub.base)
    return figures


@click.command("load")
@click.argument("region_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The hub's data directory (created if new; a second run continues the load).")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Sending processes (members are spread over them).")
@click.option("--hub-url", default=None, help="A hub already serving DATA (default: start one on a free port).")
@click.option("--database-url", default=None, help="The hub's OLTP database (default: DATA/hub.db).")
def region_load(region_dir, data_dir, workers, hub_url, database_url):
    """Send the region in REGION_DIR (hie region generate) through the exchange, process it, load the mart."""
    started = time.perf_counter()
    load_region(region_dir, data_dir, workers=workers, hub_url=hub_url, database_url=database_url)
    click.echo(f"region loaded into {data_dir} in {time.perf_counter() - started:.1f} s")


__all__ = ["region_load", "load_region"]
