"""Mart schema version 4: a district rollup for the district × week dashboard.

- ``rollup_visits_district_week``: visits per district of the reporting institution, kind and ISO
  week, computed from ``rollup_visits_institution_week`` and the institution dimension (a few
  hundred rows a year; ``olap.rollups.VISITS_DISTRICT_WEEK``). A district can change only through
  the dimension, so when ``dim_institution`` changes the ETL recomputes it over every week.

Applied to a mart that already holds facts, it is filled at once (``apply_schema``).
"""
from __future__ import annotations

from .model import Column, Table, TableKind
from .v1 import CODE, ROW_STATE

VERSION = 4
DESCRIPTION = "district weekly visits rollup"

ROLLUPS = (
    Table(name="rollup_visits_district_week", kind=TableKind.ROLLUP,
          columns=(Column("date", "Date", "Monday of the ISO week"), Column("district_code", "String"),
                   Column("kind", CODE), Column("visits", "UInt64"), Column("total_fen", "Int64"),
                   Column("drug_fen", "Int64"), *ROW_STATE),
          order_by=("date", "district_code", "kind"), partition_by="toYear(date)",
          shard_key="sipHash64(district_code)",
          comment="exact visits per reporting institution's district, kind and ISO week (from the institution "
                  "weeks; recomputed whole when the institution dimension changes)"),
)

TABLES = ROLLUPS

__all__ = ["VERSION", "DESCRIPTION", "ROLLUPS", "TABLES"]
