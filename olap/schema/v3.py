"""Mart schema version 3: a city-wide drug rollup for the top-drugs dashboard.

- ``rollup_medication_drug_month``: medication lines per drug, kind and month over every
  institution (a few thousand rows in all). The city's top drugs read it instead of the
  institution × drug rollup (over a hundred thousand rows); a query that filters or is scoped by
  institution or district still reads the institution rollup, since this one has no institution.

Applied to a mart that already holds facts, the new rollup is filled from them at once
(``olap.schema.migrate.apply_schema``): a query never reads an empty rollup that should not be.
"""
from __future__ import annotations

from .model import Column, Table, TableKind
from .v1 import CODE, ROW_STATE

VERSION = 3
DESCRIPTION = "city-wide monthly drug rollup"

ROLLUPS = (
    Table(name="rollup_medication_drug_month", kind=TableKind.ROLLUP,
          columns=(Column("date", "Date", "first day of the month"), Column("drug_code", "String"),
                   Column("kind", CODE), Column("lines", "UInt64"), Column("amount_fen", "Int64"), *ROW_STATE),
          order_by=("date", "drug_code", "kind"), partition_by="toYear(date)",
          shard_key="sipHash64(drug_code)",
          comment="exact medication lines per drug, kind and month over all institutions"),
)

TABLES = ROLLUPS

__all__ = ["VERSION", "DESCRIPTION", "ROLLUPS", "TABLES"]
