"""Mart schema version 2: coarse rollups for dashboard latency, and the declared population table.

- ``rollup_visits_institution_week`` / ``_month``: visits per institution, kind and ISO week (date =
  Monday) or month (date = the 1st). A dashboard's institution × month or district × week answer
  reads a few thousand rows instead of the day rollup's millions (see ``docs/cubes.md``).
- ``rollup_medication_institution_month``: prescription and dispense lines per drug and month (top
  drugs).
- ``ref_population``: the population per district-level division and year, loaded as data from the
  bureau's statistics (the denominator of incidence and coverage indicators); not derived from the
  exchange, which only sees people who used a service.
"""
from __future__ import annotations

from .model import Column, Table, TableKind
from .v1 import CODE, ROW_STATE

VERSION = 2
DESCRIPTION = "week/month visit rollups, monthly medication rollup, ref_population"


def _rollup(name: str, cell: tuple[Column, ...], measures: tuple[Column, ...], comment: str) -> Table:
    """A rollup keyed like the facts (institution first, then date): one year per partition."""
    rest = tuple(column.name for column in cell if column.name not in ("institution_code", "date"))
    return Table(name=name, kind=TableKind.ROLLUP, columns=(*cell, *measures, *ROW_STATE),
                 order_by=("institution_code", "date", *rest),
                 partition_by="toYear(date)", shard_key="sipHash64(institution_code)", comment=comment)


_VISIT_MEASURES = (Column("visits", "UInt64"), Column("total_fen", "Int64"), Column("drug_fen", "Int64"))

ROLLUPS = (
    _rollup("rollup_visits_institution_week",
            (Column("date", "Date", "Monday of the ISO week"), Column("institution_code", CODE), Column("kind", CODE)),
            _VISIT_MEASURES, "exact visits per institution, kind and ISO week; recomputed by the ETL per whole week"),
    _rollup("rollup_visits_institution_month",
            (Column("date", "Date", "first day of the month"), Column("institution_code", CODE),
             Column("kind", CODE)),
            _VISIT_MEASURES, "exact visits per institution, kind and month; recomputed by the ETL per whole month"),
    _rollup("rollup_medication_institution_month",
            (Column("date", "Date", "first day of the month"), Column("institution_code", CODE),
             Column("drug_code", "String"), Column("kind", CODE)),
            (Column("lines", "UInt64"), Column("amount_fen", "Int64")),
            "exact medication lines per institution, drug, kind and month"),
)

REFERENCE = (
    Table(name="ref_population", kind=TableKind.DIMENSION,
          columns=(Column("division_code", "String", "district-level GB/T 2260 division"),
                   Column("year", "UInt16"),
                   Column("population", "UInt64", "常住人口 (resident population)"),
                   Column("live_births", "UInt64", "活产数"),
                   Column("children_under_7", "UInt64", "7 岁以下儿童数"),
                   Column("source", "String", "where the figures come from (yearbook, census, synthetic)"),
                   *ROW_STATE),
          order_by=("division_code", "year"),
          comment="declared population per district-level division and year (denominators)"),
)

TABLES = (*ROLLUPS, *REFERENCE)

__all__ = ["VERSION", "DESCRIPTION", "ROLLUPS", "REFERENCE", "TABLES"]
