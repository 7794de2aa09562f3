"""The demo's district map: a schematic one (a hexagon per district, no real boundaries) made for the
registry's districts and imported as ``hie region map import`` would, so the console draws a map."""
from __future__ import annotations

import json
from pathlib import Path

import click


def import_demo_map(data_dir: Path) -> int:
    """Make and import the schematic map of every district of the demo's registry; how many districts."""
    from protocol.timestamps import utcnow

    from ..regions import import_map, known_districts, schematic_map
    from ..settings import Settings
    from ..store.db import make_engine, session_factory

    engine = make_engine(Settings.load(data_dir).db_url)
    try:
        with session_factory(engine)() as session:
            districts = known_districts(session)
    finally:
        engine.dispose()
    schematic = schematic_map(list(districts.items()))
    kept = import_map(data_dir=data_dir, raw=json.dumps(schematic, ensure_ascii=False).encode("utf-8"),
                      districts=districts, now=utcnow())
    click.echo(f"region map: schematic, {len(kept['features'])} districts, one hexagon each "
               f"(hie region map show --data-dir {data_dir})")
    return len(kept["features"])


__all__ = ["import_demo_map"]
