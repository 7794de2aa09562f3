"""The demo's synthetic region: generated once into the data directory, loaded through the exchange,
then kept alive by its members sending this month's events as their time comes (region/live.py).

The region's months end with last month (China time) when it is first generated; a second demo run
reuses the files and the load continues where the ledger says (nothing is sent twice).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

CHINA = timezone(timedelta(hours=8))


def last_month(now: datetime | None = None) -> tuple[int, int]:
    local = (now or datetime.now(CHINA)).astimezone(CHINA)
    return (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)


def ensure_region(data_dir: Path, size: str) -> Path:
    """DATA/region: generated now (months ending last month) unless a region of ``size`` is there."""
    from region import Generated, RegionError, generate

    out = data_dir / "region"
    manifest = out / "manifest.json"
    if manifest.exists():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        try:
            Generated.open(out)
        except RegionError as error:  # files of an older generator: the hub already holds that region
            raise click.ClickException(f"{error.code}: {data_dir} holds a region of another generator version; "
                                       f"remove {data_dir} (make clean) and run the demo again") from None
        if found.get("size") != size:
            raise click.ClickException(
                f"region.load.other: {data_dir} holds the {found.get('size')} region; use another data directory "
                f"for the {size} one (make demo REGION={size} DEMO_DIR=.demo-{size})")
        click.echo(f"region: reusing the {size} region in {out} (months {found['months'][0]}..{found['months'][-1]})")
        return out

    def report(stage: str, counts: dict, seconds: float) -> None:
        click.echo(f"  {stage:<9} " + ", ".join(f"{n} {what}" for what, n in counts.items()) + f"  ({seconds:.1f} s)")

    click.echo(f"region: generating the {size} synthetic region (everything in it is invented) into {out}")
    generate(out, seed=20251205, size=size, end=last_month(), report=report)
    return out


def start_live(region_dir: Path, base_url: str, pki: Path):
    """The region's members sending this month's events as their time comes (stop() ends it)."""
    from region import Generated
    from region.live import CLINIC_EVERY, HOSPITAL_EVERY, LiveTraffic
    from region.load import Target

    live = LiveTraffic(Generated.open(region_dir), Target(base_url, pki))
    click.echo(f"\nlive traffic: the region's members send this month's visits as their time comes (hospitals "
               f"every {HOSPITAL_EVERY:g} s, community members every {CLINIC_EVERY:g} s; the first round catches "
               "up with the month so far)")
    return live.start()


__all__ = ["ensure_region", "start_live", "last_month"]
