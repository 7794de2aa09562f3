"""Mart schema version 3: city-wide and district rollups for the top-drugs and district × week dashboards.

- ``rollup_medication_drug_month``: medication lines per drug, kind and month over every
  institution (a few thousand rows in all). The city's top drugs read it instead of the
  institution × drug rollup (over a hundred thousand rows); a query that filters or is scoped by
  institution or district still reads the institution rollup, since this one has no institution.
- ``rollup_visits_district_week``: visits per district of the reporting institution, kind and ISO
  week, computed from ``rollup_visits_institution_week`` and the institution dimension (a few
  hundred rows a year). A district can change only through the dimension, so when
  ``dim_institution`` changes this rollup is recomputed over every week.

Applied to a mart that already holds facts, the new rollup is filled from them at once
(``olap.schema.migrate.apply_schema``): a query never reads an empty rollup that should not be.
"""
from __future__ import annotations

from .model import Column, Table, TableKind
from .v1 import _CODE, _ROW_STATE

VERSION = 3
DESCRIPTION = "city-wide monthly drug rollup, district weekly visits rollup"

ROLLUPS = (
    Table(name="rollup_medication_drug_month", kind=TableKind.ROLLUP,
          columns=(Column("date", "Date", "first day of the month"), Column("drug_code", "String"),
                   Column("kind", _CODE), Column("lines", "UInt64"), Column("amount_fen", "Int64"), *_ROW_STATE),
          order_by=("date", "drug_code", "kind"), partition_by="toYear(date)",
          shard_key="sipHash64(drug_code)",
          comment="exact medication lines per drug, kind and month over all institutions"),
    Table(name="rollup_visits_district_week", kind=TableKind.ROLLUP,
          columns=(Column("date", "Date", "Monday of the ISO week"), Column("district_code", "String"),
                   Column("kind", _CODE), Column("visits", "UInt64"), Column("total_fen", "Int64"),
                   Column("drug_fen", "Int64"), *_ROW_STATE),
          order_by=("date", "district_code", "kind"), partition_by="toYear(date)",
          shard_key="sipHash64(district_code)",
          comment="exact visits per reporting institution's district, kind and ISO week (from the institution "
                  "weeks; recomputed whole when the institution dimension changes)"),
)

TABLES = ROLLUPS

__all__ = ["VERSION", "DESCRIPTION", "ROLLUPS", "TABLES"]
