"""The facts behind one cell of a cube query: the first fact keys (``<OLTP table>:<row id>``) of
the rows the cell counts, for the lineage view (``etl.lineage`` traces each key to its message).

A cell is named by a value of each group-by level: a filterable level's value becomes a filter; a
date level's value (a day, an ISO week's Monday, ``YYYY-MM``, ``YYYY-Qn``, ``YYYY``) narrows the
query's period to that unit (intersected with the period: a trend's first week may start before it).
Bounded (``MAX_FACT_KEYS``) and never for a withheld cell: the cell is first answered by the cube
query it was shown in (same scope, same suppression); a suppressed or absent cell is refused
before the fact table is read, so a withheld cell's facts cannot be listed — not even how many.
"""
from __future__ import annotations

from datetime import date, timedelta

from ..backend import Backend
from ..schema.versions import table as declared_table
from .catalog import get_cube
from .compile import Part, Scope, compile_fact_keys
from .errors import CubeError
from .execute import execute
from .model import Cube, Level, Render
from .query import Filter, Period, Query

MAX_FACT_KEYS = 50


def _names_its_facts(cube: Cube, name: str) -> bool:
    """A level whose value selects the cell's rows: a filter, or a date level over the period's column."""
    if not cube.has_level(name):
        return False
    level = cube.level(name)
    return level.filterable or bool(cube.date_column and cube.date_column in level.expr)


def traceable(cube_name: str, group_by: tuple[str, ...] | list[str],
              measures: tuple[str, ...] | list[str]) -> list[str]:
    """The measures among ``measures`` whose cells of a query grouped by ``group_by`` name their facts:
    plain counts of the cube's own fact (``count()``: one fact per unit counted), every level a filter
    or a date level. A rate, a sum, a distinct or a conditional count cannot: the facts a cell selects
    would not be the number shown."""
    cube = get_cube(cube_name)
    if "fact_key" not in declared_table(cube.fact).column_names:
        return []
    if not all(_names_its_facts(cube, name) for name in group_by):
        return []
    plain = {m.name for m in cube.measures if m.expr.replace(" ", "") == "count()" or m.counts_rows}
    return [name for name in measures if name in plain]


def _unit(level: Level, value: str) -> Period:
    """The days a date level's value covers; ``cube.query.invalid`` for a value it never renders."""
    try:
        if level.render is Render.DAY:
            day = date.fromisoformat(value)
            return Period(day, day)
        if level.render is Render.WEEK:
            monday = date.fromisoformat(value)
            if monday.weekday() != 0:
                raise ValueError(value)
            return Period(monday, monday + timedelta(days=6))
        if level.render is Render.MONTH and len(value) == 7:
            first = date.fromisoformat(f"{value}-01")
            after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return Period(first, after - timedelta(days=1))
        if level.render is Render.QUARTER and len(value) == 7 and value[4:6] == "-Q" and value[6] in "1234":
            first = date(int(value[:4]), 3 * int(value[6]) - 2, 1)
            after = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
            return Period(first, after - timedelta(days=1))
        if level.render is Render.YEAR and len(value) == 4:
            return Period(date(int(value), 1, 1), date(int(value), 12, 31))
    except ValueError:
        pass
    raise CubeError("cube.query.invalid", "not a value of this date level", field="/cell")


def _narrowed(cube: Cube, query: Query, cell: dict[str, str]) -> Period | None:
    """The query's period narrowed to the units the cell's date levels name (``None``: no date level)."""
    period = query.period
    for name, value in cell.items():
        level = cube.level(name)
        if level.filterable:
            continue
        unit = _unit(level, value)
        low = max(unit.start, period.start) if period else unit.start
        high = min(unit.end, period.end) if period else unit.end
        if high < low:
            raise CubeError("cube.query.invalid", "the cell's date is outside the query's period", field="/cell")
        period = Period(low, high)
    return period


def cell_fact_keys(backend: Backend, query: Query, cell: dict[str, str], *, scope: Scope = Scope(),
                   limit: int = MAX_FACT_KEYS, value: str | None = None) -> dict:
    """The first ``limit`` fact keys (in key order) behind the cell of ``query`` at ``cell``
    (a value for every group-by level); ``access.denied`` when that cell is withheld. ``value``: the
    measure traced, when it counts only some rows (``Measure.counts_rows``)."""
    cube = get_cube(query.cube)
    if set(cell) != set(query.group_by):
        raise CubeError("cube.query.invalid", "a cell names a value for every group-by level", field="/cell")
    for name in query.group_by:
        if not _names_its_facts(cube, name):
            raise CubeError("cube.level.unknown", "the facts of a cell are listed by filters and dates only",
                            field="/cell")
    if "fact_key" not in declared_table(cube.fact).column_names:
        raise CubeError("cube.query.invalid", "this cube's facts carry no fact key", field="/cube")
    limit = max(1, min(int(limit), MAX_FACT_KEYS))
    period = _narrowed(cube, query, cell)  # a malformed date or one outside the period: refused here
    shown = execute(backend, query, scope=scope)
    found = next((c for c in shown["cells"] if all(str(c.get(name)) == value for name, value in cell.items())), None)
    if found is None:
        raise CubeError("cube.query.invalid", "no such cell in the query's answer", field="/cell")
    if found["suppressed"]:
        raise CubeError("access.denied", "the cell is withheld (small count): its facts are not listed")
    filters = (*query.filters, *(Filter(name, (code,)) for name, code in cell.items()
                                 if cube.level(name).filterable))
    rows = next((m.counts_rows for m in cube.measures if m.name == value), None)
    if rows is not None:
        filters = (*filters, Filter(rows[0], (rows[1],)))
    compiled = compile_fact_keys(Part(cube, (), (), filters, period), scope=scope,
                                 distributed=bool(getattr(backend, "cluster", None)), limit=limit + 1)
    keys = [str(key) for key in backend.query_df(compiled.sql, compiled.params)["m0"].tolist()]
    return {"cube": cube.name, "cell": dict(cell), "period": shown["period"],
            "fact_keys": keys[:limit], "complete": len(keys) <= limit,
            **({"facts_period": period.as_json()} if period is not None and period != query.period else {})}


__all__ = ["cell_fact_keys", "traceable", "MAX_FACT_KEYS"]
