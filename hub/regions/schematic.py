"""A schematic district map: one hexagon per district on a tidy grid, no real boundary.

For a demo, or a region whose boundaries are not at hand: the console can draw the districts as a
choropleth all the same. The map says it is schematic (``properties.schematic``, on the collection and
on every feature), and the console says so under it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

ORIGIN = (119.5, 30.5)  # longitude, latitude of the first cell's centre (where the demo's city lies)
SIZE = 0.12  # a hexagon's circumradius, in degrees


def _hexagon(cx: float, cy: float, size: float) -> list[list[float]]:
    """A pointy-top hexagon around (cx, cy), closed (the first position again at the end)."""
    ring = [[round(cx + size * math.cos(math.radians(90 + 60 * k)), 6),
             round(cy + size * math.sin(math.radians(90 + 60 * k)), 6)] for k in range(6)]
    return ring + [ring[0]]


def schematic_map(districts: Sequence[tuple[str, str]], *, origin: tuple[float, float] = ORIGIN,
                  size: float = SIZE) -> dict:
    """A FeatureCollection of one hexagon per (code, name), in the order given, rows of ⌈√n⌉ cells
    (odd rows shifted half a cell, as a honeycomb), marked schematic."""
    columns = max(1, math.ceil(math.sqrt(len(districts))))
    width, height = math.sqrt(3) * size, 1.5 * size
    features = []
    for index, (code, name) in enumerate(districts):
        row, column = divmod(index, columns)
        cx = origin[0] + column * width + (width / 2 if row % 2 else 0)
        cy = origin[1] - row * height  # rows go south, as a page is read
        features.append({"type": "Feature", "properties": {"code": code, "name": name, "schematic": True},
                         "geometry": {"type": "Polygon", "coordinates": [_hexagon(cx, cy, size)]}})
    return {"type": "FeatureCollection", "properties": {"schematic": True}, "features": features}


__all__ = ["schematic_map", "ORIGIN", "SIZE"]
