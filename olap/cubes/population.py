"""The declared population table (``ref_population``): the denominators of incidence and coverage.

The exchange only sees people who used a service, so it cannot count who lives in a district. The
bureau loads its own figures (statistical yearbook, census) per district-level division and year;
each row says where it comes from. Loading is idempotent (``olap.dimensions.load_dimension``).
"""
from __future__ import annotations

import pandas as pd

from ..backend import Backend
from ..dimensions import DimensionLoad, load_dimension

COLUMNS = ("division_code", "year", "population", "live_births", "children_under_7", "source")


def load_population(backend: Backend, frame: pd.DataFrame, *, version: int | None = None) -> DimensionLoad:
    """Bring ``ref_population`` to exactly the rows of ``frame`` (columns: ``COLUMNS``)."""
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"population frame lacks {missing}")
    if (frame[["population", "live_births", "children_under_7"]] < 0).any().any():
        raise ValueError("population figures must not be negative")
    return load_dimension(backend, "ref_population", frame[list(COLUMNS)], version=version)


def read_population_csv(path) -> pd.DataFrame:
    """A population CSV (header = ``COLUMNS``) as the frame ``load_population`` takes."""
    return pd.read_csv(path, dtype={"division_code": str, "source": str}, keep_default_na=False, encoding="utf-8")


__all__ = ["COLUMNS", "load_population", "read_population_csv"]
