"""A cube answer as a pivot table: row levels × column levels × measures / indicators, with totals.

The cells are the query's cells, unchanged (withheld ones stay withheld). Totals are not added up
here: each comes from the same cube asked at the coarser levels (rows only, columns only, none),
with the same filters, period and scope, so sums of counts, exact distinct counts and ratios
recomputed from summed numerators and denominators are what the cube itself defines. A published
total can still expose a withheld cell (a row total minus the row's other cells), so
:func:`protect_totals` withholds totals until no withheld cell or total is determined by what the
table publishes (``totals.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable

from .catalog import get_cube
from .compile import Scope
from .errors import CubeError
from .model import Cube
from .query import MAX_NAMES, Query
from .totals import protect_totals

TOTAL = "合计"
YEAR_AGO = "去年同期"


class Style(str, Enum):
    """How a value is formatted: integers, ¥ with two decimals, a rate in %, or a decimal."""

    INT = "int"
    MONEY = "money"
    PERCENT = "percent"
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Value:
    """One measure or indicator of the pivot (``year_ago``: its value in the comparison period)."""

    name: str
    title: str
    unit: str
    style: Style
    scale: float = 1.0  # fen (分) are shown in yuan
    year_ago: bool = False
    definition: str = ""

    @property
    def heading(self) -> str:
        unit = f"（{self.unit}）" if self.unit else ""
        return f"{self.title}{unit}" + (f"（{YEAR_AGO}）" if self.year_ago else "")


@dataclass(frozen=True)
class Entry:
    """A value as shown: a number, nothing (no data or undefined), or withheld."""

    value: float | int | None = None
    withheld: bool = False


@dataclass(frozen=True)
class Pivot:
    """A pivot of one query: keys are level values (codes), captions the names the cube gives them."""

    query: Query
    # the cube's answer for the cells (period, sources, suppression, labels, cells); its cells also
    # carry the indicators' numerators and denominators, which the totals' protection needs
    answer: dict[str, Any]
    row_levels: tuple[str, ...]
    column_levels: tuple[str, ...]
    values: tuple[Value, ...]
    rows: tuple[tuple[str, ...], ...]
    columns: tuple[tuple[str, ...], ...]
    cells: dict[tuple[int, int, int], Entry]  # (row, column, value); absent: no such cell
    row_totals: dict[tuple[int, int], Entry] = field(default_factory=dict)  # (row, value), over the columns
    column_totals: dict[tuple[int, int], Entry] = field(default_factory=dict)  # (column, value), over the rows
    grand: dict[int, Entry] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def cube(self) -> Cube:
        return get_cube(self.query.cube)

    def caption(self, level: str, code: str) -> str:
        """The member's name as the cube answer gives it (its code where it has none)."""
        return self.answer.get("labels", {}).get(level, {}).get(code, code)

    def level_title(self, level: str) -> str:
        return self.cube.level(level).title or level

    def header(self) -> list[str]:
        """The one header row: the row levels, then each value's columns (and its total)."""
        out = [self.level_title(level) for level in self.row_levels]
        for value in self.values:
            if not self.column_levels:
                out.append(value.heading)
                continue
            for column in self.columns:
                caption = " / ".join(self.caption(lv, code) for lv, code in zip(self.column_levels, column))
                out.append(f"{value.heading}｜{caption}")
            out.append(f"{value.heading}｜{TOTAL}")
        return out

    def lines(self) -> list[list[str | Entry]]:
        """The body under :meth:`header`: one line per row, then the total line (row levels given)."""
        def entries(get: Callable[[int, int], Entry | None], total: Callable[[int], Entry | None]) -> list:
            out: list[str | Entry] = []
            for v in range(len(self.values)):
                if not self.column_levels:
                    out.append(get(0, v) or Entry())
                    continue
                out += [get(c, v) or Entry() for c in range(len(self.columns))]
                out.append(total(v) or Entry())
            return out
        body = []
        for r, row in enumerate(self.rows):
            captions: list[str | Entry] = [self.caption(lv, code) for lv, code in zip(self.row_levels, row)]
            body.append(captions + entries(lambda c, v: self.cells.get((r, c, v)), lambda v: self.row_totals.get((r, v))))
        if self.row_levels:
            label: list[str | Entry] = [TOTAL] + [""] * (len(self.row_levels) - 1)
            body.append(label + entries(lambda c, v: self.column_totals.get((c, v)), lambda v: self.grand.get(v)))
        return body


def parse_layout(body: Any) -> tuple[dict, tuple[str, ...], tuple[str, ...]]:
    """An export body split into its cube query (``group_by`` = rows + columns, labels on) and layout."""
    if not isinstance(body, dict):
        raise CubeError("cube.query.invalid", "query must be a JSON object", field="")
    layout = {}
    for key in ("rows", "columns"):
        names = body.get(key, [])
        if not isinstance(names, list) or len(names) > MAX_NAMES or not all(isinstance(n, str) for n in names):
            raise CubeError("cube.pivot.invalid", "must be a list of levels", field=f"/{key}")
        layout[key] = tuple(names)
    rows, columns = layout["rows"], layout["columns"]
    levels = (*rows, *columns)
    query = {key: value for key, value in body.items() if key not in ("rows", "columns")}
    if len(set(levels)) != len(levels):
        raise CubeError("cube.pivot.invalid", "a level is on both axes, or twice", field="/columns")
    group_by = query.get("group_by", list(levels))
    if not isinstance(group_by, list) or sorted(map(str, group_by)) != sorted(levels):
        raise CubeError("cube.pivot.invalid", "rows and columns must hold exactly the group-by levels", field="/rows")
    return {**query, "group_by": group_by, "labels": True}, rows, columns


def _value(cube: Cube, name: str, *, indicator: bool, year_ago: bool) -> Value:
    if indicator:
        item = cube.indicator(name)
        style = {"元": Style.MONEY, "%": Style.PERCENT}.get(item.unit, Style.DECIMAL)
        return Value(name, item.title or name, item.unit, style, year_ago=year_ago, definition=item.definition)
    owner, _, measure_name = name.rpartition(".")
    measure = (get_cube(owner) if owner else cube).measure(measure_name)
    if measure.unit == "分":
        return Value(name, measure.title or name, "元", Style.MONEY, 0.01, year_ago)
    return Value(name, measure.title or name, measure.unit, Style.INT, year_ago=year_ago)


def _entry(cell: dict | None, name: str, *, year_ago: bool, scale: float = 1.0) -> Entry | None:
    if cell is None:
        return None
    source = (cell.get("year_ago") or {}) if year_ago else cell
    raw = source.get(name)
    if raw is None:
        return Entry(None, bool(source.get("suppressed")))
    return Entry(round(raw * scale, 2) if scale != 1.0 else raw)


def _keys(cells: list[dict], levels: tuple[str, ...]) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(tuple(str(cell[lv]) for lv in levels) for cell in cells))


def build_pivot(answer_for: Callable[[Query], dict], query: Query, *, rows: tuple[str, ...],
                columns: tuple[str, ...]) -> Pivot:
    """The pivot of ``query``; ``answer_for`` answers a query (``execute`` with the caller's backend
    and scope), asked for the cells and for each margin the totals need."""
    cube = get_cube(query.cube)
    hidden = [name for ind in query.indicators if ind in {i.name for i in cube.indicators}  # else execute refuses
              for name in (cube.indicator(ind).numerator, cube.indicator(ind).denominator)]
    measures = tuple(dict.fromkeys((*query.measures, *hidden)))
    asked = replace(query, measures=measures, labels=True)
    answer = answer_for(asked)
    comparisons = (False, True) if query.compare else (False,)
    values = tuple(_value(cube, name, indicator=name in query.indicators, year_ago=ago)
                   for name in (*query.measures, *query.indicators) for ago in comparisons)
    row_keys = _keys(answer["cells"], rows)
    column_keys = sorted(_keys(answer["cells"], columns))
    r_index = {key: i for i, key in enumerate(row_keys)}
    c_index = {key: i for i, key in enumerate(column_keys)}
    at = {(r_index[tuple(str(c[lv]) for lv in rows)], c_index[tuple(str(c[lv]) for lv in columns)]): c
          for c in answer["cells"]}
    cells = {(r, c, v): _entry(cell, value.name, year_ago=value.year_ago, scale=value.scale)
             for (r, c), cell in at.items() for v, value in enumerate(values)}
    pivot = Pivot(query, answer, rows, columns, values, tuple(row_keys), tuple(column_keys), cells)
    if query.top or query.having:
        return replace(pivot, notes=("合计未给出：查询只保留部分格（top / having），所示格之和不是总数，总数也不是所示格之和。",))
    margin = replace(asked, sort=(), top=None, having=(), labels=False)
    # a row total sums over the columns (asked by the row levels), a column total over the rows
    by_row = _margin(answer_for, replace(margin, group_by=rows), rows) if columns else {}
    by_column = _margin(answer_for, replace(margin, group_by=columns), columns) if rows else {}
    grand_cell = _margin(answer_for, replace(margin, group_by=()), ()).get(()) if rows and columns else None
    slots = {(name, ago) for name in measures for ago in comparisons}
    protected = {slot: protect_totals(
        {(r, c): bool(_withheld(cell, *slot)) for (r, c), cell in at.items()},
        rows=len(row_keys) if columns else 0, columns=len(column_keys) if rows else 0,
        row_totals={r: _withheld(by_row.get(key), *slot) for key, r in r_index.items()} if columns else {},
        column_totals={c: _withheld(by_column.get(key), *slot) for key, c in c_index.items()} if rows else {},
        grand=_withheld(grand_cell, *slot) if rows and columns else None) for slot in slots}

    def total(cell: dict | None, v: int, where: tuple) -> Entry | None:
        value = values[v]
        parts = [value.name] if value.name in measures else [cube.indicator(value.name).numerator,
                                                               cube.indicator(value.name).denominator]
        entry = _entry(cell, value.name, year_ago=value.year_ago, scale=value.scale)
        if any(where in protected[(part, value.year_ago)] for part in parts):
            if not (entry and entry.withheld):
                hidden_here.append(where)
            return Entry(None, True)
        return entry
    hidden_here: list[tuple] = []
    row_totals = {(r, v): total(by_row.get(key), v, ("row", r)) for key, r in r_index.items()
                  for v in range(len(values))} if columns else {}
    column_totals = {(c, v): total(by_column.get(key), v, ("column", c)) for key, c in c_index.items()
                     for v in range(len(values))} if rows else {}
    grand = {v: total(grand_cell, v, ("grand",)) for v in range(len(values))} if rows and columns else {}
    notes = ["合计为同一立方体按较粗层级重新查询所得（不是逐格相加）：计数与金额为总和，去重人数为精确去重，"
             "比率由分子、分母的合计重新计算；小格抑制同样适用于合计。"] if rows or columns else []
    if hidden_here:
        notes.append(f"另有 {len(hidden_here)} 个合计不公布：立方体本可公布，但读者可用它减去所示的其他格，"
                     "推算出被抑制的格。")
    return replace(pivot, row_totals={k: e for k, e in row_totals.items() if e is not None},
                   column_totals={k: e for k, e in column_totals.items() if e is not None},
                   grand={k: e for k, e in grand.items() if e is not None}, notes=tuple(notes))


def _margin(answer_for: Callable[[Query], dict], query: Query, levels: tuple[str, ...]) -> dict[tuple, dict]:
    return {tuple(str(cell[lv]) for lv in levels): cell for cell in answer_for(query)["cells"]}


def _withheld(cell: dict | None, name: str, year_ago: bool) -> bool:
    entry = _entry(cell, name, year_ago=year_ago)
    return bool(entry and entry.withheld)


__all__ = ["Style", "Value", "Entry", "Pivot", "TOTAL", "YEAR_AGO", "parse_layout", "build_pivot"]
