"""``hie region map import FILE | show``: the region's district boundaries (GeoJSON) for the console's map.

The file is a FeatureCollection of Polygon / MultiPolygon features, each naming its district's GB/T
2260 code in the property ``code`` (or ``adcode``); every code must be a district of the registry.
It is kept in the data directory (``DATA/region-map.geojson``), replacing the map before it; a wrong
file changes nothing and is one line: ``error: region.map.invalid: <why> (<JSON pointer>)``.
"""
from __future__ import annotations

from pathlib import Path

import click

from .region_generate import region_generate
from .region_load import region_load

_data_dir = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
_database_url = click.option("--database-url", default=None)


def _districts(data_dir: Path, database_url: str | None) -> dict[str, str]:
    from ..regions import known_districts
    from .store import open_store

    with open_store(data_dir, database_url, create=False)() as session:
        return known_districts(session)


@click.group()
def region() -> None:
    """The region: its district map for the console (docs/console.md); the synthetic region (docs/region.md)."""


region.add_command(region_generate)  # hie region generate: the synthetic region (docs/region.md)
region.add_command(region_load)  # hie region load: the region through the exchange, then the ETL


@region.group("map")
def region_map() -> None:
    """The region's district boundaries (GeoJSON), drawn by the console as a choropleth."""


@region_map.command("import")
@_data_dir
@_database_url
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def map_import(data_dir, database_url, file):
    """Check FILE against the registry's districts and keep it as the region's map."""
    from protocol.errors import HubError
    from protocol.timestamps import utcnow

    from ..regions import import_map

    districts = _districts(data_dir, database_url)
    try:
        kept = import_map(data_dir=data_dir, raw=file.read_bytes(), districts=districts, now=utcnow())
    except HubError as error:
        raise click.ClickException(f"{error.code}: {error.detail} ({error.fields.get('field', '/')})") from None
    _describe(kept, districts)


@region_map.command("show")
@_data_dir
@_database_url
def map_show(data_dir, database_url):
    """The region's map: its districts, and the registry's districts it does not draw."""
    from ..regions import load_map

    districts = _districts(data_dir, database_url)
    kept = load_map(data_dir)
    if kept is None:
        raise click.ClickException(f"region.map.missing: no region map in {data_dir} (hie region map import FILE)")
    _describe(kept, districts)


def _describe(kept: dict, districts: dict[str, str]) -> None:
    drawn = [feature["properties"] for feature in kept["features"]]
    kind = "schematic (no real boundaries)" if kept["properties"].get("schematic") else "boundaries"
    click.echo(f"region map: {kind}, {len(drawn)} districts, imported {kept['properties'].get('imported_at', '?')}")
    for properties in drawn:
        click.echo(f"  {properties['code']}  {properties['name']}")
    missing = sorted(set(districts) - {properties["code"] for properties in drawn})
    if missing:
        click.echo(f"not on the map: {', '.join(missing)}")


__all__ = ["region"]
