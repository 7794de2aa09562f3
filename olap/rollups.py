"""Rollup tables: exact pre-aggregations that the ETL recomputes for the date range a batch touched.

A rollup cell is recomputed from the exactly-read facts and written with a new ``version``; cells
that the range had before but no longer has (every fact retracted) are written as zero rows with
``deleted = 1``. Recomputing a range twice, or after a crash, gives the same cells: no deltas are
ever added, so nothing can be double counted. Read rollups like facts: ``FINAL`` and ``deleted = 0``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from .backend import Backend
from .schema.versions import table as declared_table
from .sqlparams import identifier


@dataclass(frozen=True)
class Through:
    """Cell columns a rollup takes from a dimension, joined on ``key`` (a column of its source)."""

    table: str
    key: str
    attributes: tuple[str, ...]
    condition: str = ""


@dataclass(frozen=True)
class Rollup:
    """A rollup table: what it aggregates (a fact, or another rollup), its cell (group-by columns)
    and measures (SQL, type). With ``through``, some cell columns are a dimension's attributes of
    the source's rows (a district from the institution): such a rollup is recomputed whole when
    that dimension changes (``etl.load.refresh_rollups``)."""

    name: str
    source: str
    cell: tuple[str, ...]
    measures: tuple[tuple[str, str, str], ...]  # (column, aggregate over the source, ClickHouse type)
    grain: str = "day"  # day | week (date = Monday) | month (date = the 1st): what one cell's date covers
    through: Through | None = None
    # the source's column the cell's date is taken from, named alike in the rollup: ``date`` (the
    # fact's own), or one that may come later than it (a stay's discharge_date, never before its
    # admission date): then every cell from the earliest touched day on is recomputed (``refresh``)
    date_column: str = "date"

    def __post_init__(self) -> None:
        if self.grain not in _GRAIN_START:
            raise ValueError(f"{self.name}: unknown grain {self.grain}")
        if self.grain != "day" and self.date_column not in self.cell:
            raise ValueError(f"{self.name}: a {self.grain} rollup needs {self.date_column} in its cell")

    def whole_periods(self, date_from: date, date_to: date) -> tuple[date, date]:
        """The range widened to whole weeks or months: a coarse cell is only ever recomputed whole."""
        if self.grain == "week":
            return date_from - timedelta(days=date_from.weekday()), date_to + timedelta(days=6 - date_to.weekday())
        if self.grain == "month":
            following = date(date_to.year + date_to.month // 12, date_to.month % 12 + 1, 1)
            return date_from.replace(day=1), following - timedelta(days=1)
        return date_from, date_to


_GRAIN_START = {"day": "day", "week": "toMonday(day)", "month": "toStartOfMonth(day)"}


VISITS_INSTITUTION_DAY = Rollup(
    name="rollup_visits_institution_day", source="fact_outpatient_visit",
    cell=("date", "institution_code", "department_code", "kind"),
    measures=(("visits", "count()", "UInt64"), ("total_fen", "sum(total_fen)", "Int64"),
              ("drug_fen", "sum(drug_fen)", "Int64")),
)
VISITS_INSTITUTION_WEEK = Rollup(
    name="rollup_visits_institution_week", source="fact_outpatient_visit", cell=("date", "institution_code", "kind"),
    measures=VISITS_INSTITUTION_DAY.measures, grain="week",
)
VISITS_INSTITUTION_MONTH = Rollup(
    name="rollup_visits_institution_month", source="fact_outpatient_visit", cell=("date", "institution_code", "kind"),
    measures=VISITS_INSTITUTION_DAY.measures, grain="month",
)
MEDICATION_INSTITUTION_MONTH = Rollup(
    name="rollup_medication_institution_month", source="fact_medication",
    cell=("date", "institution_code", "drug_code", "kind"),
    measures=(("lines", "count()", "UInt64"), ("amount_fen", "sum(amount_fen)", "Int64")), grain="month",
)
MEDICATION_DRUG_MONTH = Rollup(
    name="rollup_medication_drug_month", source="fact_medication", cell=("date", "drug_code", "kind"),
    measures=MEDICATION_INSTITUTION_MONTH.measures, grain="month",
)
VISITS_DISTRICT_WEEK = Rollup(  # from the institution weeks (after them: ROLLUPS is in refresh order)
    name="rollup_visits_district_week", source=VISITS_INSTITUTION_WEEK.name, cell=("date", "district_code", "kind"),
    measures=(("visits", "sum(visits)", "UInt64"), ("total_fen", "sum(total_fen)", "Int64"),
              ("drug_fen", "sum(drug_fen)", "Int64")), grain="week",
    through=Through("dim_institution", "institution_code", ("district_code",), "department_code = ''"),
)
ADMISSIONS_INSTITUTION_MONTH = Rollup(
    name="rollup_admissions_institution_month", source="fact_inpatient_stay",
    cell=("date", "institution_code", "department_code"), measures=(("admissions", "count()", "UInt64"),),
    grain="month",
)
DISCHARGES_INSTITUTION_MONTH = Rollup(  # the month a stay ended: its cells follow discharge_date, not date
    name="rollup_discharges_institution_month", source="fact_inpatient_stay",
    cell=("discharge_date", "institution_code", "department_code"),
    measures=(("discharges", "count()", "UInt64"), ("bed_days", "sum(bed_days)", "UInt64"),
              ("total_fen", "sum(total_fen)", "Int64")),
    grain="month", date_column="discharge_date",
)
ROLLUPS = {rollup.name: rollup for rollup in (VISITS_INSTITUTION_DAY, VISITS_INSTITUTION_WEEK,
                                              VISITS_INSTITUTION_MONTH, MEDICATION_INSTITUTION_MONTH,
                                              MEDICATION_DRUG_MONTH, VISITS_DISTRICT_WEEK,
                                              ADMISSIONS_INSTITUTION_MONTH, DISCHARGES_INSTITUTION_MONTH)}


def fact_of(rollup: Rollup) -> str:
    """The fact a rollup is ultimately computed from (through other rollups)."""
    while rollup.source in ROLLUPS:
        rollup = ROLLUPS[rollup.source]
    return rollup.source


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
    day = identifier(rollup.date_column)
    in_range = f"deleted = 0 AND {day} >= {{date_from:Date}} AND {day} <= {{date_to:Date}}"
    source = f"{identifier(rollup.source)} FINAL WHERE {in_range}"
    if rollup.through is not None:  # the source's rows, exactly read, with the dimension's attributes
        through = rollup.through
        own = [column for column in declared_table(rollup.source).column_names if column not in ("version", "deleted")]
        extra = f" AND {through.condition}" if through.condition else ""
        source = (f"(SELECT {', '.join(own)}, {', '.join(through.attributes)} FROM (SELECT {', '.join(own)} "
                  f"FROM {identifier(rollup.source)} FINAL WHERE {in_range}) AS left_rows ANY LEFT JOIN "
                  f"(SELECT {through.key}, {', '.join(through.attributes)} FROM (SELECT * FROM {through.table} FINAL) "
                  f"WHERE deleted = 0{extra}) AS dimension USING {through.key})")
    if rollup.grain == "day":
        facts = f"SELECT {cell}, {fresh} FROM {source} GROUP BY {cell}"
    else:  # the source's date renamed first: an alias may not shadow the column it is computed from
        # a nullable date (a stay not yet discharged) is outside every range: its rows never get here
        dated = "date AS day" if rollup.date_column == "date" else f"assumeNotNull({day}) AS day"
        inner = ", ".join(dated if column == rollup.date_column else identifier(column) for column in rollup.cell)
        sources = {column for column in declared_table(rollup.source).column_names
                   for _, aggregate, _ in rollup.measures if re.search(rf"\b{column}\b", aggregate)}
        read = ", ".join([inner, *sorted(sources - set(rollup.cell))])
        outer = ", ".join(f"{_GRAIN_START[rollup.grain]} AS {day}" if column == rollup.date_column
                          else identifier(column) for column in rollup.cell)
        facts = f"SELECT {outer}, {fresh} FROM (SELECT {read} FROM {source}) GROUP BY {cell}"
    return (
        f"INSERT INTO {identifier(rollup.name)} ({', '.join(names)}, version, deleted) "
        f"SELECT {cell}, {totals}, {{version:UInt64}} AS version, toUInt8({first} = 0) AS deleted FROM ("
        f"{facts} "
        f"UNION ALL "
        f"SELECT {cell}, {zeros} FROM {identifier(rollup.name)} FINAL WHERE {in_range}"
        f") GROUP BY {cell}"
    )


def pieces(rollup: Rollup, date_from: date, date_to: date) -> list[tuple[date, date]]:
    """The range widened to whole periods, cut into calendar months (five-week runs for a week
    rollup): the units that ``refresh`` groups into statements of bounded size."""
    date_from, date_to = rollup.whole_periods(date_from, date_to)
    cut, start = [], date_from
    while start <= date_to:
        if rollup.grain == "week":  # start is a Monday: whole weeks only
            end = start + timedelta(weeks=5, days=-1)
        else:
            end = date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)
        cut.append((start, min(end, date_to)))
        start = min(end, date_to) + timedelta(days=1)
    return cut


ROWS_PER_STATEMENT = 5_000_000  # source rows one refresh statement reads at most (unless one piece holds more)


def _statements(backend: Backend, rollup: Rollup, cut: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Consecutive pieces joined while their source rows stay within ``ROWS_PER_STATEMENT``: an ETL
    run of a million rows over two years is one statement, a backfill of 100 M rows a few dozen."""
    if len(cut) == 1:
        return cut
    day = identifier(rollup.date_column)
    days = backend.query_df(f"SELECT {day} AS day, count() AS n FROM {identifier(rollup.source)} "
                            f"WHERE {day} >= {{low:Date}} AND {day} <= {{high:Date}} GROUP BY day",
                            {"low": cut[0][0], "high": cut[-1][1]})
    rows = dict(zip(pd.to_datetime(days["day"]).dt.date, days["n"].astype("int64")))
    joined: list[tuple[date, date]] = []
    held = 0
    for low, high in cut:
        size = sum(n for day, n in rows.items() if low <= day <= high)
        if joined and held + size <= ROWS_PER_STATEMENT:
            joined[-1], held = (joined[-1][0], high), held + size
        else:
            joined.append((low, high))
            held = size
    return joined


def refresh_everything(backend: Backend, rollup: Rollup, *, version: int) -> bool:
    """Recompute ``rollup`` over every day its source covers (a new rollup, a changed dimension);
    False when the source is empty."""
    day = identifier(rollup.date_column)
    span = backend.query_df(f"SELECT count() AS n, min({day}) AS first, max({day}) AS last "
                            f"FROM {identifier(rollup.source)} WHERE deleted = 0 AND {day} IS NOT NULL")
    if not int(span["n"].iloc[0]):
        return False
    refresh(backend, rollup, date_from=pd.Timestamp(span["first"].iloc[0]).date(),
            date_to=pd.Timestamp(span["last"].iloc[0]).date(), version=version)
    return True


def _latest(backend: Backend, rollup: Rollup) -> list[date]:
    """The latest ``date_column`` day in the source (any row version) and in the rollup, if any."""
    day = identifier(rollup.date_column)
    frame = backend.query_df(f"SELECT max({day}) AS last, count() AS n FROM {identifier(rollup.source)} "
                             f"WHERE {day} IS NOT NULL UNION ALL SELECT max({day}) AS last, count() AS n "
                             f"FROM {identifier(rollup.name)}")
    return [pd.Timestamp(last).date() for last, n in zip(frame["last"], frame["n"]) if int(n)]


def refresh(backend: Backend, rollup: Rollup, *, date_from: date, date_to: date, version: int) -> None:
    """Recompute ``rollup`` for the days ``date_from``..``date_to`` (widened to its grain's whole periods);
    ``version`` must exceed earlier refreshes'.

    The days are the fact's own (``date``). A rollup dated by a later column (a discharge) is
    recomputed from ``date_from`` through the latest such day in the source or the rollup: a touched
    row's cell, old or new, lies there (a stay ends on or after its admission)."""
    sql = refresh_sql(rollup)
    if rollup.date_column != "date":
        date_to = max([date_to, *_latest(backend, rollup)])
    for low, high in _statements(backend, rollup, pieces(rollup, date_from, date_to)):
        backend.execute(sql, {"date_from": low, "date_to": high, "version": version})


__all__ = ["Rollup", "VISITS_INSTITUTION_DAY", "VISITS_INSTITUTION_WEEK", "VISITS_INSTITUTION_MONTH",
           "MEDICATION_INSTITUTION_MONTH", "MEDICATION_DRUG_MONTH", "VISITS_DISTRICT_WEEK",
           "ADMISSIONS_INSTITUTION_MONTH", "DISCHARGES_INSTITUTION_MONTH", "ROLLUPS", "Through", "fact_of", "pieces",
           "refresh_sql", "refresh", "refresh_everything"]
