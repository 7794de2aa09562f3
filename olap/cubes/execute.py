"""Answer a cube query: one SELECT per cube involved, drill-across merge, suppression, indicators,
year-ago comparison, ordering and top-N — returning plain JSON-able values.

Suppression happens per cube, on that cube's own cells, before anything is merged, sorted or cut:
the cells a user sees never depend on which of them made the top N. Suppressed values are unknown,
not small: ``having`` keeps suppressed cells whatever the condition, and sorting puts them last, so
neither reveals on which side of a threshold a withheld value lies.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Callable

import numpy as np
import pandas as pd

from ..backend import Backend
from .catalog import get_cube
from .conformed import LABELS
from .compile import MAX_CELLS, PERIOD_KEY, Part, Scope, compile_part, source_of
from .errors import CubeError
from .model import Cube, Render
from .query import Filter, Period, Query
from .suppress import THRESHOLD, complementary, primary

Names = Callable[[str, list[str]], dict[str, str]]
_OPERATORS = {"=": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}


_FORMATS = {
    Render.MONTH: lambda v: f"{int(v) // 100:04d}-{int(v) % 100:02d}",
    Render.QUARTER: lambda v: f"{int(v) // 10:04d}-Q{int(v) % 10}",
    Render.YEAR: lambda v: f"{int(v):04d}",
    Render.DAY: lambda v: pd.Timestamp(v).date().isoformat(),
    Render.WEEK: lambda v: pd.Timestamp(v).date().isoformat(),
    Render.INT: int,
    Render.TEXT: str,
}


def _render(series: pd.Series, render: Render) -> list:
    """A level's engine values as JSON values; formatted once per distinct value (dashboards repeat them)."""
    values = series.to_numpy(dtype=object)
    if render is Render.TEXT and all(type(value) is str for value in values):
        return values.tolist()
    labels = {value: _FORMATS[render](value) for value in pd.unique(values)}
    return [labels[value] for value in values]


def _json_column(series: pd.Series) -> list:
    """Measure or indicator values: None for withheld or undefined, int when whole, else 6 decimals."""
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
    if whole.all():  # counts and sums: the common case, converted at once
        return values.astype(np.int64).tolist()
    return [None if value != value or value in (np.inf, -np.inf) else (int(value) if exact else round(value, 6))
            for value, exact in zip(values.tolist(), whole.tolist())]


def _year_later(value: str, render: Render) -> str:
    """A date-level value of the comparison period moved one year on, to meet its counterpart."""
    if render is Render.DAY:
        day = date.fromisoformat(value)
        try:
            return day.replace(year=day.year + 1).isoformat()
        except ValueError:
            return day.replace(year=day.year + 1, day=28).isoformat()
    return f"{int(value[:4]) + 1:04d}{value[4:]}"


class _Plan:
    """Which cube computes which measures at which levels (validated against the declarations)."""

    def __init__(self, query: Query):
        self.query, self.cube = query, get_cube(query.cube)
        for index, name in enumerate(query.group_by):
            if not self.cube.has_level(name):
                raise CubeError("cube.level.unknown", "no such level in this cube", field=f"/group_by/{index}")
        for index, item in enumerate(query.filters):
            if not self.cube.has_level(item.level) or not self.cube.level(item.level).filterable:
                raise CubeError("cube.level.unknown", "not a filterable level of this cube (date levels: use period)",
                                field=f"/filters/{index}")
        self.needs: dict[str, list[str]] = {self.cube.name: []}
        for index, name in enumerate(query.measures):
            self._need(name, f"/measures/{index}")
        for index, name in enumerate(query.indicators):
            try:
                indicator = self.cube.indicator(name)
            except KeyError:
                raise CubeError("cube.indicator.unknown", "no such indicator in this cube",
                                field=f"/indicators/{index}") from None
            self._need(indicator.numerator, f"/indicators/{index}")
            self._need(indicator.denominator, f"/indicators/{index}")
        self.levels_used = {*query.group_by, *(item.level for item in query.filters)}
        for cube_name in list(self.needs):
            for privacy in get_cube(cube_name).sensitive_for(self.needs[cube_name], self.levels_used):
                if privacy not in self.needs[cube_name]:
                    self.needs[cube_name].append(privacy)
        if query.previous and any(name.startswith("date.") for name in query.group_by):
            raise CubeError("cube.query.invalid", "the previous-period comparison needs no date level",
                            field="/compare")
        if query.compare and any(name == "date.week" for name in query.group_by):
            raise CubeError("cube.query.invalid", "year-ago comparison needs day, month, quarter or year",
                            field="/compare")
        outputs = {*query.group_by, *query.measures, *query.indicators}
        for index, key in enumerate(query.sort):
            if key.by not in outputs:
                raise CubeError("cube.query.invalid", "sort by a level, measure or indicator of the query",
                                field=f"/sort/{index}")
        for index, condition in enumerate(query.having):
            if condition.name not in {*query.measures, *query.indicators}:
                raise CubeError("cube.query.invalid", "having names a measure or indicator of the query",
                                field=f"/having/{index}")

    def _need(self, name: str, field: str) -> None:
        cube_name, dot, measure = name.rpartition(".")
        if dot and (not cube_name or cube_name == self.cube.name):  # ".x", "visits.x" on visits: the cells
            raise CubeError("cube.measure.unknown", "no such measure", field=field)  # would lack the name
        cube = get_cube(cube_name) if cube_name else self.cube
        try:
            cube.measure(measure)
        except KeyError:
            raise CubeError("cube.measure.unknown", "no such measure", field=field) from None
        if cube.name != self.cube.name:
            self._drill_across_levels(cube, field)
        self.needs.setdefault(cube.name, [])
        if measure not in self.needs[cube.name]:
            self.needs[cube.name].append(measure)

    def _drill_across_levels(self, other: Cube, field: str) -> None:
        levels = [*self.query.group_by, *(item.level for item in self.query.filters)]
        for name in levels:
            if not other.has_level(name) and name.split(".", 1)[0] not in other.constant_over:
                raise CubeError("cube.drill_across", "the other cube has no such level", field=field)

    def lifted(self, cube: Cube) -> tuple[Filter, ...]:
        """The filters that select cells of a grouped level (on it, or on a level above it in its
        hierarchy) in a cube with persons: suppression is decided without them, then they apply —
        else a filter leaving out a withheld cell would publish its complementary partner."""
        if not cube.privacy_for(self.levels_used):
            return ()
        visible = [name for name in self.query.group_by if cube.has_level(name)]
        above: set[str] = set()
        for name in visible:
            dimension, level = name.split(".")
            above |= {name, *(f"{dimension}.{parent}" for parent in cube.dimension(dimension).parents(level))}
        return tuple(item for item in self.query.filters if item.level in above)

    def part(self, cube: Cube, period: Period | None, *, with_parents: bool) -> tuple[Part, list[str]]:
        """The part ``cube`` computes; ``with_parents`` also groups by the parents of each level (they
        are functions of it, so cells do not split) — the margins complementary suppression needs.
        Lifted filters (:meth:`lifted`) are left out and their levels grouped by, to apply them after."""
        visible = [name for name in self.query.group_by if cube.has_level(name)]
        hidden = [f"{name.split('.')[0]}.{parent}" for name in visible
                  for parent in cube.dimension(name.split(".")[0]).parents(name.split(".")[1])] if with_parents else []
        lifted = self.lifted(cube)
        hidden += [item.level for item in lifted]
        levels = tuple(dict.fromkeys([*visible, *(name for name in hidden if cube.has_level(name))]))
        filters = tuple(item for item in self.query.filters if cube.has_level(item.level) and item not in lifted)
        uses_period = bool(cube.date_column or cube.year_column)
        return (Part(cube, levels, tuple(self.needs[cube.name]), filters, period if uses_period else None,
                     by_year="date.year" in levels), visible)


def _statement(backend: Backend, part: Part, scope: Scope) -> tuple[pd.DataFrame, str]:
    """``part``'s cells (levels rendered) from one SELECT, and the table it read."""
    compiled = compile_part(part, scope=scope, distributed=bool(getattr(backend, "cluster", None)))
    # the SQL orders the groups (shards interleave them otherwise): a fixed order keeps the choice of
    # complementary cells, and so the answer, the same on every engine
    frame = backend.query_df(compiled.sql, compiled.params, small=compiled.small).rename(columns=compiled.columns)
    for name in part.levels:  # plain objects: pandas' Arrow strings cost ~1 ms a chart in takes and merges
        frame[name] = pd.Series(_render(frame[name], part.cube.level(name).render), index=frame.index, dtype=object)
    return frame, compiled.source


def _disjoint(periods: list[Period]) -> bool:
    ordered = sorted(periods, key=lambda period: period.start)
    return all(earlier.end < later.start for earlier, later in zip(ordered, ordered[1:]))


def _fetch(backend: Backend, parts: list[Part], scope: Scope) -> list[tuple[pd.DataFrame, str]]:
    """Each part's cells and source table, for parts that differ only in their period.

    The periods that read the same table go in one statement (a period key splits its rows), so a
    chart's period, the one before and the year-ago cost one scan, not three; a cube without a
    period is read once for all. Each part's frame is what its own statement would have returned."""
    read: list[tuple[pd.DataFrame, str] | None] = [None] * len(parts)
    if parts[0].period is None:  # a reference cube read whole: the same cells for every period
        frame, source = _statement(backend, parts[0], scope)
        return [(frame.copy(), source) for _ in parts]
    batches: dict[str, list[int]] = {}
    for index, part in enumerate(parts):
        key = source_of(part, scope=scope) if part.cube.date_column else f"#{index}"
        batches.setdefault(key, []).append(index)
    for indexes in batches.values():
        periods = list(dict.fromkeys(parts[index].period for index in indexes))
        if len(periods) == 1 or not _disjoint(periods):  # overlapping periods (a custom span): one by one
            for period in periods:
                fetched = _statement(backend, replace(parts[indexes[0]], period=period), scope)
                for index in indexes:
                    if parts[index].period == period:
                        read[index] = (fetched[0].copy(), fetched[1])
            continue
        frame, source = _statement(backend, replace(parts[indexes[0]], period=None, periods=tuple(periods)), scope)
        key = frame.pop(PERIOD_KEY).astype("int64").to_numpy()
        for index in indexes:
            mine = frame[key == periods.index(parts[index].period)].reset_index(drop=True)
            if not len(mine) and not parts[index].levels:  # without levels an empty period is one cell of zeros
                mine = _statement(backend, parts[index], scope)[0]
            read[index] = (mine, source)
    for frame, _ in read:
        if len(frame) > MAX_CELLS:
            raise CubeError("cube.query.too_large", "the query has too many cells: group by coarser levels or filter")
    return read


def _cube_frames(backend: Backend, plan: _Plan, cube: Cube, periods: list[Period | None], scope: Scope,
                 sources: dict[str, str]) -> tuple[list[pd.DataFrame], list[str]]:
    """One cube's cells at the query's levels for each period, its small cells suppressed (flag
    ``__suppressed__<cube>``), each period on its own cells; ``sources`` gets the first period's table.

    The parents of the levels are only fetched when a cell is small: large dashboards then skip the
    dimension joins that complementary suppression alone would need.
    """
    parts = [plan.part(cube, period, with_parents=False)[0] for period in periods]
    visible = plan.part(cube, periods[0], with_parents=False)[1]
    fetched = _fetch(backend, parts, scope)
    sources[cube.name] = fetched[0][1]
    frames = [frame for frame, _ in fetched]
    flag = f"__suppressed__{cube.name}"
    privacy = cube.privacy_for(plan.levels_used)
    masks: list = [None] * len(frames)
    if privacy:
        sensitive = cube.sensitive_for(parts[0].measures, plan.levels_used)
        masks = [primary(frame, sensitive) if len(frame) else None for frame in frames]
        small = [index for index, mask in enumerate(masks) if mask is not None and mask.any()]
        with_parents = [plan.part(cube, periods[index], with_parents=True)[0] for index in small]
        if small and len(with_parents[0].levels) > len(parts[0].levels):
            for index, (frame, source) in zip(small, _fetch(backend, with_parents, scope)):
                frames[index], masks[index] = frame, primary(frame, sensitive)
                if index == 0:
                    sources[cube.name] = source
        parents = {name: tuple(f"{name.split('.')[0]}.{p}" for p in
                               cube.dimension(name.split(".")[0]).parents(name.split(".")[1])
                               if cube.has_level(f"{name.split('.')[0]}.{p}")) for name in visible}
        for index in small:
            masks[index] = complementary(frames[index], masks[index], visible=visible, parents=parents, basis=privacy,
                                         sensitive=sensitive)
    measures = list(parts[0].measures)
    lifted = plan.lifted(cube)
    out = []
    for frame, mask in zip(frames, masks):
        frame[flag] = False
        if mask is not None and mask.any():
            frame[measures] = frame[measures].astype("float64").mask(mask)
            frame[flag] = mask
        for item in lifted:  # the filters suppression was decided without select the cells now
            frame = frame[frame[item.level].astype(str).isin(item.values)].reset_index(drop=True)
        if list(frame.columns) != [*visible, *measures, flag]:  # margins fetched for suppression go
            frame = frame[[*visible, *measures, flag]]
        if cube.name != plan.cube.name:
            frame = frame.rename(columns={m: f"{cube.name}.{m}" for m in measures})
        out.append(frame)
    return out, visible


def _cells(backend: Backend, plan: _Plan, periods: list[Period | None], scope: Scope,
           sources: dict[str, str]) -> list[pd.DataFrame]:
    """The query's cells for each of ``periods``: every cube's cells merged, indicators, ``having``."""
    frames, _ = _cube_frames(backend, plan, plan.cube, periods, scope, sources)
    for name in plan.needs:
        if name == plan.cube.name:
            continue
        others, on = _cube_frames(backend, plan, get_cube(name), periods, scope, sources)
        for index, other in enumerate(others):
            frame = frames[index]
            if on:
                frame = frame.merge(other, on=on, how="left")
            else:
                frame = frame.merge(other, how="cross")
            measures = [f"{name}.{m}" for m in plan.needs[name]]
            flag = f"__suppressed__{name}"
            frame[flag] = frame[flag].astype("boolean").fillna(False).astype(bool)
            published = ~frame[flag]  # a cell the other cube does not have is a zero there, not a secret
            frame.loc[published, measures] = frame.loc[published, measures].fillna(0)
            frames[index] = frame
    return [_finished(frame, plan) for frame in frames]


def _finished(frame: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """One period's merged cells with the suppressed flag, the indicators, and ``having`` applied."""
    flags = [c for c in frame.columns if c.startswith("__suppressed__")]
    frame["__suppressed"] = frame[flags[0]].astype(bool) if len(flags) == 1 else frame[flags].any(axis=1)
    for name in plan.query.indicators:
        indicator = plan.cube.indicator(name)
        numerator, denominator = frame[indicator.numerator], frame[indicator.denominator].astype("float64")
        frame[name] = (numerator.astype("float64") / denominator.where(denominator != 0)) * indicator.factor
    for condition in plan.query.having:
        values = frame[condition.name].astype("float64")
        keep = getattr(values, _OPERATORS[condition.op])(condition.value) | values.isna() & frame["__suppressed"]
        frame = frame[keep]
    return frame


def _sorted(frame: pd.DataFrame, query: Query) -> pd.DataFrame:
    """Ordered by the sort keys (default: the group-by levels), suppressed values last; top N kept."""
    by = [key.by for key in query.sort] or list(query.group_by)
    ascending = [not key.descending for key in query.sort] or [True] * len(by)
    if by:
        frame = frame.sort_values(by, ascending=ascending, na_position="last", kind="stable")
    return frame.head(query.top) if query.top else frame


def _json_cells(frame: pd.DataFrame, query: Query) -> list[dict]:
    """The rows of ``frame`` as cells: level values, measures, indicators and the suppressed flag."""
    names = [*query.group_by, *query.measures, *query.indicators, "suppressed"]
    columns = [frame[name].astype(object).tolist() for name in query.group_by]
    columns += [_json_column(frame[name]) for name in (*query.measures, *query.indicators)]
    columns.append(frame["__suppressed"].astype(bool).tolist())
    return [dict(zip(names, row)) for row in zip(*columns)]


def execute(backend: Backend, query: Query, *, scope: Scope = Scope(), names: Names | None = None) -> dict:
    """The cells of ``query`` as JSON-able dicts, within ``scope`` (see ``docs/cubes.md``); ``names``:
    where ``labels`` come from instead of a statement each (``(level, codes) -> {code: name}``, as
    :func:`level_names` answers: a cache kept between ETL runs)."""
    plan = _Plan(query)
    sources: dict[str, str] = {}
    # this period, a year earlier, the one just before: read together (one statement per cube and table)
    periods: list[Period | None] = [query.period]
    if query.compare:
        periods.append(query.period.shifted_years(-1))
    if query.previous:
        periods.append(query.period.previous())
    frames = _cells(backend, plan, periods, scope, sources)
    frame = _sorted(frames[0], query)
    cells = _json_cells(frame, query)
    if query.compare:
        earlier = frames[1]
        for name in query.group_by:
            level = plan.cube.level(name)
            if not level.filterable:
                earlier[name] = [_year_later(value, level.render) for value in earlier[name]]
        previous = {tuple(cell.pop(name) for name in query.group_by): cell for cell in _json_cells(earlier, query)}
        empty = {name: 0 if name in query.measures else None for name in (*query.measures, *query.indicators)}
        for cell in cells:  # no earlier cell: nothing happened then (zero counts, no ratio)
            cell["year_ago"] = previous.get(tuple(cell[name] for name in query.group_by),
                                            empty | {"suppressed": False})
    answer = {"cube": plan.cube.name, "period": query.period.as_json() if query.period else None,
            "compare_period": query.period.shifted_years(-1).as_json() if query.compare else None,
            "group_by": list(query.group_by), "measures": list(query.measures),
            "indicators": list(query.indicators), "sources": sources,
            "suppression": {"threshold": THRESHOLD, "suppressed_cells": sum(c["suppressed"] for c in cells)},
            "cells": cells}
    earlier_cells = []
    if query.previous:  # the period just before, in the same answer: its own cells, suppressed alike
        earlier_cells = _json_cells(_sorted(frames[-1], query), query)
        answer["previous"] = {"period": query.period.previous().as_json(), "cells": earlier_cells,
                              "suppressed_cells": sum(c["suppressed"] for c in earlier_cells)}
    if query.labels:
        answer["labels"] = _labels(backend, query, [*cells, *earlier_cells], names)
    return answer


def level_names(backend: Backend, level: str, codes: list[str]) -> dict[str, str]:
    """{code: name} of ``codes`` of group-by level ``level`` (one small statement; codes without a name
    are left out). ``level`` must be one of ``LABELS``."""
    label = LABELS[level]
    condition = f" AND {label.condition}" if label.condition else ""
    frame = backend.query_df(
        f"SELECT {label.key} AS code, any({label.name}) AS name FROM (SELECT * FROM {label.table} FINAL) "
        f"WHERE deleted = 0{condition} AND {label.key} IN (SELECT arrayJoin({{codes:Array(String)}})) "
        "GROUP BY code", {"codes": codes})
    return {str(code): str(name) for code, name in zip(frame["code"], frame["name"]) if name}


def _labels(backend: Backend, query: Query, cells: list[dict], names: Names | None) -> dict[str, dict[str, str]]:
    """level → {code: name} for the codes in ``cells`` of every group-by level that has names."""
    labels = {}
    for level in query.group_by:
        if level not in LABELS:
            continue
        codes = sorted({str(cell[level]) for cell in cells if cell[level] not in (None, "")})
        if not codes:
            labels[level] = {}
            continue
        labels[level] = names(level, codes) if names is not None else level_names(backend, level, codes)
    return labels


__all__ = ["execute", "level_names", "Names"]
