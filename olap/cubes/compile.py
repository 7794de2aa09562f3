"""Compile what one cube must compute for a query into one SELECT both ClickHouse 18.16 and chDB accept.

Shape of every statement (``docs/olap.md``, "Reading exactly"; a week or month rollup read without
joins is the same in one level: ``SELECT … FROM <rollup> FINAL WHERE <all conditions> AND deleted = 0``):

    SELECT <levels> AS g0…, <aggregates> AS m0…
    FROM (SELECT <columns> FROM (SELECT <columns>, deleted FROM <fact or rollup> FINAL WHERE <identity>)
          WHERE deleted = 0 AND <everything else>)
         [GLOBAL] ANY LEFT JOIN (<dimension, exactly read>) USING <key>   -- one join per nesting: 18.16
    GROUP BY g0…

Only conditions on a row's identity (its ``ORDER BY`` columns, the same in every version of the row)
go inside ``FINAL``; filters on other columns are applied after the versions are merged. Filters on
dimension attributes become semi-joins on the fact's key (``institution_code IN (SELECT …)``), which
use the primary key; only group-by levels and measures that read a dimension attribute join it.
A rollup answers when it has every column the query reads and a mapping for every measure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..schema.versions import table as declared_table
from .model import Cube, CubeRollup, Level, Render
from .query import Filter, Period

MAX_CELLS = 50_000
PERIOD_KEY = "__period"  # the result column naming a row's period (its index in ``Part.periods``)
_ATTRIBUTE = re.compile(r"\{([a-z_]+)\.([a-z_]+)\}")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_WEEK_LEVELS, _MONTH_LEVELS = frozenset({"week"}), frozenset({"month", "quarter", "year"})
# facts of one row per institution and month (a few thousand rows a year): read on one thread, like a
# month rollup (an engine's threads cost more than they save there)
_SMALL_FACTS = frozenset({"fact_institution_month"})


@dataclass(frozen=True)
class Scope:
    """What the caller may see: ``None`` = no restriction on that axis."""

    districts: frozenset[str] | None = None
    institutions: frozenset[str] | None = None


@dataclass(frozen=True)
class Part:
    """What one cube computes for a query: its group-by levels, measures, filters and period."""

    cube: Cube
    levels: tuple[str, ...]
    measures: tuple[str, ...]
    filters: tuple[Filter, ...] = ()
    period: Period | None = None
    by_year: bool = False  # reference cubes (year_column): group by the period's years, else its last year
    # several disjoint periods read by one statement (date_column cubes): each row is keyed by the index
    # of its period (column PERIOD_KEY), so one scan answers this period, the one before and a year ago
    periods: tuple[Period, ...] = ()

    def each_period(self) -> tuple[Period, ...]:
        """The periods the statement reads: ``periods`` if given, else ``period`` (if any)."""
        return self.periods or ((self.period,) if self.period is not None else ())


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: dict[str, Any]
    source: str
    columns: dict[str, str] = field(default_factory=dict)  # result alias -> level or measure name
    small: bool = False  # reads a week or month rollup or a monthly fact (a few thousand rows a year)


def _columns_in(expression: str, names: tuple[str, ...]) -> set[str]:
    text = _ATTRIBUTE.sub(" ", _STRING.sub("''", expression))
    return {name for name in names if re.search(rf"\b{name}\b", text)}


def _aligned(period: Period | None, grain: str) -> bool:
    if period is None:
        return True
    if grain == "week":
        return period.start.weekday() == 0 and period.end.weekday() == 6
    if grain == "month":
        return period.start.day == 1 and (period.end + timedelta(days=1)).day == 1
    return True


class _Builder:
    def __init__(self, part: Part, scope: Scope, distributed: bool):
        self.part, self.cube, self.scope = part, part.cube, scope
        self.glob = "GLOBAL " if distributed else ""
        self.params: dict[str, Any] = {}
        self.held: dict[str, str] = {}  # dimension attributes the chosen source holds (see source())
        self.small = False
        self.filters = list(part.filters)
        for axis, values in (("district", scope.districts), ("institution", scope.institutions)):
            if values is not None and axis in self.cube.scope:
                level = self.cube.scope[axis]
                if any(item.level == level and set(item.values) <= values for item in part.filters):
                    continue  # the query asks for no more than the scope allows: one semi-join, not two
                self.filters.append(Filter(level, tuple(sorted(values))))

    def param(self, value: Any, kind: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{kind}}}"

    # ------------------------------------------------------------- source
    def _needed_columns(self, names: tuple[str, ...], held: dict[str, str] | None = None) -> set[str]:
        """The columns a source must have; ``held``: dimension attributes the source holds itself."""
        needed: set[str] = set()
        cube, held = self.cube, held or {}
        for qualified in (*self.part.levels, *(f.level for f in self.filters)):
            level = cube.level(qualified)
            if level.join and f"{level.join}.{level.expr}" in held:
                needed.add(held[f"{level.join}.{level.expr}"])
            else:
                needed |= {cube.joins[level.join].fact_column} if level.join else _columns_in(level.expr, names)
        needed |= _columns_in(cube.condition, names)
        if self.part.each_period() and cube.date_column:
            needed |= _columns_in(cube.date_column, names)
        return needed

    def source(self) -> tuple[str, dict[str, str]]:
        """The smallest declared rollup that answers the part, else the fact itself."""
        cube, part = self.cube, self.part
        date_levels = {name.split(".", 1)[1] for name in part.levels if name.startswith("date.")}
        for rollup in cube.rollups:
            if self._answers(rollup, date_levels):
                self.held, self.small = rollup.attributes, rollup.grain != "day"
                return rollup.table, dict(rollup.measures)
        return cube.fact, {measure.name: measure.expr for measure in cube.measures}

    def _answers(self, rollup: CubeRollup, date_levels: set[str]) -> bool:
        if not all(measure in rollup.measures for measure in self.part.measures):
            return False
        if not self._needed_columns(declared_table(self.cube.fact).column_names, rollup.attributes) <= rollup.columns:
            return False
        allowed = {"week": _WEEK_LEVELS, "month": _MONTH_LEVELS}.get(rollup.grain)
        if allowed is not None and not date_levels <= allowed:
            return False
        return all(_aligned(period, rollup.grain) for period in self.part.each_period())

    # -------------------------------------------------------------- pieces
    def _attribute(self, join: str, attribute: str, joins: dict[str, list[str]]) -> str:
        if join not in self.cube.joins:
            raise ValueError(f"{self.cube.name}: undeclared join {join}")
        joins.setdefault(join, [])
        if attribute not in joins[join]:
            joins[join].append(attribute)
        return f"{join}__{attribute}"

    def _expression(self, level: Level, joins: dict[str, list[str]]) -> str:
        if level.join and f"{level.join}.{level.expr}" in self.held:
            return self.held[f"{level.join}.{level.expr}"]
        if level.join:
            return self._attribute(level.join, level.expr, joins)
        return _ATTRIBUTE.sub(lambda m: self._attribute(m.group(1), m.group(2), joins), level.expr)

    def _dimension(self, join: str, columns: str, extra: str = "") -> str:
        spec = self.cube.joins[join]
        condition = f" AND {spec.condition}" if spec.condition else ""
        return f"SELECT {columns} FROM (SELECT * FROM {spec.table} FINAL) WHERE deleted = 0{condition}{extra}"

    def _filter(self, item: Filter, names: tuple[str, ...]) -> tuple[str, set[str]]:
        """(condition, fact columns it reads)."""
        level = self.cube.level(item.level)
        values = self.param(list(item.values), "Array(String)")
        if level.join and f"{level.join}.{level.expr}" in self.held:
            column = self.held[f"{level.join}.{level.expr}"]
            expression = f"toString({column})" if level.render is Render.INT else column
            return f"{expression} IN (SELECT arrayJoin({values}))", {column}
        if level.join:
            spec = self.cube.joins[level.join]
            attribute = f"toString({level.expr})" if level.render is Render.INT else level.expr
            semi = self._dimension(level.join, spec.key, f" AND {attribute} IN (SELECT arrayJoin({values}))")
            return f"{spec.fact_column} {self.glob}IN ({semi})", {spec.fact_column}
        expression = f"toString({level.expr})" if level.render is Render.INT else level.expr
        return f"{expression} IN (SELECT arrayJoin({values}))", _columns_in(level.expr, names)

    # --------------------------------------------------------------- build
    def build(self) -> Compiled:
        cube, part = self.cube, self.part
        table, measure_sql = self.source()
        declared = declared_table(table)
        names = tuple(name for name in declared.column_names if name not in ("version", "deleted"))
        identity = set(declared.order_by)
        joins: dict[str, list[str]] = {}
        groups = [(f"g{i}", self._expression(cube.level(name), joins), name) for i, name in enumerate(part.levels)]
        aggregates = [(f"m{i}", _ATTRIBUTE.sub(lambda m: self._attribute(m.group(1), m.group(2), joins),
                                              measure_sql[name]), name) for i, name in enumerate(part.measures)]
        inner, outer = [], []
        read = _columns_in(cube.condition, names)
        if part.periods and not cube.date_column:
            raise ValueError(f"{cube.name}: several periods in one statement need a date column")
        if part.each_period() and cube.date_column:
            ranges = []
            for period in part.each_period():
                low, high = self.param(period.start, "Date"), self.param(period.end, "Date")
                ranges.append(f"{cube.date_column} >= {low} AND {cube.date_column} <= {high}")
            condition = ranges[0] if len(ranges) == 1 else "(" + " OR ".join(f"({r})" for r in ranges) + ")"
            read |= _columns_in(cube.date_column, names)
            (inner if _columns_in(cube.date_column, names) <= identity else outer).append(condition)
            if part.periods:  # the rows passed one of the ranges: the last needs no test of its own
                tests = ", ".join(f"{r}, {index}" for index, r in enumerate(ranges[:-1]))
                groups.insert(0, ("k", f"toUInt8(multiIf({tests}, {len(ranges) - 1}))", PERIOD_KEY))
        if part.period is not None and cube.year_column:
            first = part.period.start.year if part.by_year else part.period.end.year
            low, high = self.param(first, "UInt16"), self.param(part.period.end.year, "UInt16")
            inner.append(f"{cube.year_column} >= {low} AND {cube.year_column} <= {high}")
        if cube.condition:
            outer.append(cube.condition)
        for item in self.filters:
            condition, columns = self._filter(item, names)
            read |= columns
            (inner if columns <= identity else outer).append(condition)
        for _, expression, _ in (*groups, *aggregates):
            read |= _columns_in(expression, names)
        read |= {cube.joins[join].fact_column for join in joins}
        columns = sorted(read) or [declared.order_by[0]]
        where = f" WHERE {' AND '.join(inner)}" if inner else ""
        also = "".join(f" AND {condition}" for condition in outer)
        current = (f"SELECT {', '.join(columns)} FROM (SELECT {', '.join(columns)}, deleted FROM {table} FINAL"
                   f"{where}) WHERE deleted = 0{also}")
        for join, attributes in joins.items():
            spec = self.cube.joins[join]
            key = spec.key if spec.key == spec.fact_column else f"{spec.key} AS {spec.fact_column}"
            aliases = [f"{join}__{attribute}" for attribute in attributes]
            dimension = self._dimension(join, ", ".join([key, *(f"{a} AS {alias}" for a, alias
                                                                 in zip(attributes, aliases))]))
            columns = [*columns, *aliases]
            current = (f"SELECT {', '.join(columns)} FROM ({current}) AS left_{join} {self.glob}ANY LEFT JOIN "
                       f"({dimension}) AS {join} USING {spec.fact_column}")
        select = ", ".join(f"{expression} AS {alias}" for alias, expression, _ in (*groups, *aggregates))
        group_by = f" GROUP BY {', '.join(alias for alias, _, _ in groups)}" if groups else ""
        # ordered by the engine (the same byte order on every engine and shard layout): the order the
        # complementary suppression walks the cells in, so its choice is the same everywhere
        order = f" ORDER BY {', '.join(alias for alias, _, _ in groups)}" if groups else ""
        # one more cell than allowed in each period: a period over the limit shows itself as such
        limit = (MAX_CELLS + 1) * max(1, len(part.periods))
        if self.small and not joins:  # a rollup read without joins: one level (WHERE runs after FINAL,
            # tests/olap/test_exact_reads.py); the nesting above costs ~2 ms of planning on chDB
            conditions = " AND ".join([*inner, "deleted = 0", *outer])
            sql = f"SELECT {select} FROM {table} FINAL WHERE {conditions}{group_by}{order} LIMIT {limit}"
        else:
            sql = f"SELECT {select} FROM ({current}){group_by}{order} LIMIT {limit}"
        return Compiled(sql, self.params, table, {alias: name for alias, _, name in (*groups, *aggregates)},
                        small=self.small or table in _SMALL_FACTS)


def source_of(part: Part, *, scope: Scope = Scope()) -> str:
    """The table ``compile_part`` reads for ``part``: its smallest answering rollup, else the fact."""
    return _Builder(part, scope, False).source()[0]


def compile_part(part: Part, *, scope: Scope = Scope(), distributed: bool = False) -> Compiled:
    """The SELECT for ``part`` within ``scope``; ``distributed`` uses GLOBAL joins and IN (a cluster)."""
    return _Builder(part, scope, distributed).build()


class _FactKeys(_Builder):
    """The same conditions (period, filters, scope, the cube's condition) on the fact table itself
    (never a rollup: only the fact knows its rows), selecting the rows' keys."""

    def source(self) -> tuple[str, dict[str, str]]:
        return self.cube.fact, {"fact_key": "fact_key"}


def compile_fact_keys(part: Part, *, scope: Scope = Scope(), distributed: bool = False, limit: int) -> Compiled:
    """The SELECT of the first ``limit`` fact keys (in key order) of the rows ``part`` reads within ``scope``
    (``part.levels`` and ``part.measures`` are not used: the cell is named by ``part.filters``)."""
    builder = _FactKeys(Part(part.cube, (), ("fact_key",), part.filters, part.period), scope, distributed)
    compiled = builder.build()
    sql = compiled.sql.replace(f"LIMIT {MAX_CELLS + 1}", f"ORDER BY m0 LIMIT {int(limit)}")
    return Compiled(sql, compiled.params, compiled.source, {"m0": "fact_key"})


__all__ = ["Scope", "Part", "Compiled", "compile_part", "compile_fact_keys", "source_of", "MAX_CELLS",
           "PERIOD_KEY"]
