"""The region's district map (GeoJSON): checked against the registry's districts, kept in the data
directory, drawn by the console as a choropleth; a schematic one for a demo. See docs/console.md."""
from .boundaries import GEOMETRIES, MAX_BYTES, in_scope, read_boundaries
from .schematic import schematic_map
from .service import MAP_FILE, import_map, known_districts, load_map, map_path

__all__ = ["read_boundaries", "in_scope", "schematic_map", "import_map", "load_map", "known_districts", "map_path",
           "MAP_FILE", "MAX_BYTES", "GEOMETRIES"]
