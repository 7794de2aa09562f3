"""Where the region's map is kept: one file in the hub's data directory, replaced whole on import.

``DATA/region-map.geojson`` holds the map as :func:`~.boundaries.read_boundaries` returns it. A file,
not a table: the map is reference data the operator gives (like the PKI beside it), read by every hub
process of this data directory; hubs on several hosts each import it (docs/console.md).
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry.models import DISTRICT_LEVELS, Region
from .boundaries import read_boundaries

MAP_FILE = "region-map.geojson"
_cache: dict[Path, tuple[tuple[int, int], dict]] = {}
_cache_lock = Lock()


def known_districts(session: Session) -> dict[str, str]:
    """The registry's district-level divisions (市辖区, 县, 县级市): code → name, in code order."""
    rows = session.execute(select(Region.code, Region.name).where(Region.level.in_(DISTRICT_LEVELS))
                           .order_by(Region.code)).all()
    return {row.code: row.name for row in rows}


def map_path(data_dir: Path) -> Path:
    return Path(data_dir) / MAP_FILE


def import_map(*, data_dir: Path, raw: bytes, districts: dict[str, str], now: datetime) -> dict:
    """Check ``raw`` (``region.map.invalid``) and keep it as the region's map; returns the map kept."""
    region_map = read_boundaries(raw, districts=districts)
    region_map["properties"]["imported_at"] = now.isoformat(timespec="seconds")
    target = map_path(data_dir)
    staged = target.with_name(f".{MAP_FILE}.{os.getpid()}")
    staged.write_text(json.dumps(region_map, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(staged, target)  # readers see the old map or the new one, never half of it
    return region_map


def load_map(data_dir: Path) -> dict | None:
    """The region's map, or None when none was imported (read again only when the file changes)."""
    path = map_path(data_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    version = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
    region_map = json.loads(path.read_text(encoding="utf-8"))
    with _cache_lock:
        _cache[path] = (version, region_map)
    return region_map


__all__ = ["MAP_FILE", "known_districts", "map_path", "import_map", "load_map"]
