"""``hie region generate --out DIR --seed N --size small|full``: write the synthetic region (docs/region.md)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=20251205, show_default=True,
              help="any whole number from 0 to 2**63-1; the same seed gives the same files")
@click.option("--size", type=click.Choice(["small", "full"]), default="small", show_default=True)
@click.option("--end", default=None, metavar="YYYY-MM",
              help="the last month of care (default 2025-03 small, 2025-12 full); the same seed and end give "
                   "the same files")
def region_generate(out, seed, size, end):
    """Write the synthetic region of SEED into OUT: registry, population, people, truth, manifest."""
    from region import RegionError, generate
    from region.generate import parse_month

    def report(stage: str, counts: dict, seconds: float) -> None:
        click.echo(f"{stage:<9} " + ", ".join(f"{n} {what}" for what, n in counts.items()) + f"  ({seconds:.1f} s)")

    try:
        last = parse_month(end) if end else None
    except RegionError as error:
        raise click.BadParameter(error.detail, param_hint="--end") from None
    manifest = generate(out, seed=seed, size=size, end=last, report=report)
    click.echo(f"region: seed {seed}, size {size}, months {manifest['months'][0]}..{manifest['months'][-1]} "
               f"written to {out} (all SYNTHETIC)")


__all__ = ["region_generate"]
