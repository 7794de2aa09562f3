"""Rollup tables: exact pre-aggregations that the ETL recomputes for the date range a batch touched.

A rollup cell is recomputed from the exactly-read facts and written with a new ``version``; cells
that the range had before but no longer has (every fact retracted) are written as zero rows with
``deleted = 1``. Recomputing a range twice, or after a crash, gives the same cells: no deltas are
ever added, so nothing can be double counted. Read rollups like facts: ``FINAL`` and ``deleted = 0``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .backend import Backend
from .schema.migrate import table as declared_table
from .sqlparams import identifier


@dataclass(frozen=True)
class Rollup:
    """A rollup table: the fact it aggregates, its cell (group-by columns) and measures (SQL, type)."""

    name: str
    source: str
    cell: tuple[str, ...]
    measures: tuple[tuple[str, str, str], ...]  # (column, aggregate over the source, ClickHouse type)


VISITS_INSTITUTION_DAY = Rollup(
    name="rollup_visits_institution_day", source="fact_outpatient_visit",
    cell=("date", "institution_code", "department_code", "kind"),
    measures=(("visits", "count()", "UInt64"), ("total_fen", "sum(total_fen)", "Int64"),
              ("drug_fen", "sum(drug_fen)", "Int64")),
)
ROLLUPS = {rollup.name: rollup for rollup in (VISITS_INSTITUTION_DAY,)}


def refresh_sql(rollup: Rollup) -> str:
    """``INSERT … SELECT`` recomputing the cells between ``{date_from:Date}`` and ``{date_to:Date}``.

    Written for ClickHouse 18.16 too: its UNION ALL needs identical column types, hence the casts.
    """
    declared = {column.name for column in declared_table(rollup.name).columns}
    names = [*rollup.cell, *(measure for measure, _, _ in rollup.measures)]
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise ValueError(f"{rollup.name}: columns not in its table: {unknown}")
    cell = ", ".join(identifier(column) for column in rollup.cell)
    fresh = ", ".join(f"CAST({aggregate} AS {kind}) AS {measure}" for measure, aggregate, kind in rollup.measures)
    zeros = ", ".join(f"CAST(0 AS {kind}) AS {measure}" for measure, _, kind in rollup.measures)
    totals = ", ".join(f"sum({measure}) AS {measure}" for measure, _, _ in rollup.measures)
    first = rollup.measures[0][0]
    in_range = "deleted = 0 AND date >= {date_from:Date} AND date <= {date_to:Date}"
    return (
        f"INSERT INTO {identifier(rollup.name)} ({', '.join(names)}, version, deleted) "
        f"SELECT {cell}, {totals}, {{version:UInt64}} AS version, toUInt8({first} = 0) AS deleted FROM ("
        f"SELECT {cell}, {fresh} FROM {identifier(rollup.source)} FINAL WHERE {in_range} GROUP BY {cell} "
        f"UNION ALL "
        f"SELECT {cell}, {zeros} FROM {identifier(rollup.name)} FINAL WHERE {in_range}"
        f") GROUP BY {cell}"
    )


def refresh(backend: Backend, rollup: Rollup, *, date_from: date, date_to: date, version: int) -> None:
    """Recompute ``rollup`` for the days ``date_from``..``date_to``; ``version`` must exceed earlier refreshes'."""
    backend.execute(refresh_sql(rollup), {"date_from": date_from, "date_to": date_to, "version": version})


__all__ = ["Rollup", "VISITS_INSTITUTION_DAY", "ROLLUPS", "refresh_sql", "refresh"]
