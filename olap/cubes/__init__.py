"""Declared cubes over the mart, their compiler and the query executor (``docs/cubes.md``).

Adding a cube is adding a ``Cube`` declaration to ``hospital.py`` / ``public_health.py``; the
compiler writes the SQL (exact reads, rollups when they answer, ClickHouse 18.16-compatible).
"""
from .catalog import CUBES, describe_all, get_cube
from .compile import Scope, compile_part
from .errors import CubeError
from .execute import execute
from .model import Cube, CubeRollup, Dimension, Indicator, Join, Level, Measure, MeasureKind, Render
from .pivot import Entry, Pivot, Style, Value, build_pivot, parse_layout
from .population import load_population, read_population_csv
from .query import Period, Query, parse_query, resolve_period
from .suppress import THRESHOLD

__all__ = ["CUBES", "describe_all", "get_cube", "Scope", "compile_part", "CubeError", "execute", "Cube",
           "CubeRollup", "Dimension", "Indicator", "Join", "Level", "Measure", "MeasureKind", "Render",
           "load_population", "read_population_csv", "Period", "Query", "parse_query", "resolve_period",
           "THRESHOLD", "Entry", "Pivot", "Style", "Value", "build_pivot", "parse_layout"]
# export.py (CSV / XLSX files) is imported by name: it loads openpyxl, which queries do not need
