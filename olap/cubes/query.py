"""A cube query as plain values, parsed from JSON; relative periods resolved against an ``as_of`` day.

    {"cube": "visits", "measures": ["visits"], "indicators": ["charge_per_visit"],
     "group_by": ["institution.district", "date.month"],
     "filters": [{"level": "visit.kind", "in": ["emergency"]}],
     "period": {"last": 12, "unit": "month"}, "compare": "year_ago",
     "sort": [{"by": "visits", "desc": true}], "top": 10}

Parsing checks shapes only (types, sizes, known keywords); whether a level or measure exists in the
cube is the planner's question. Errors carry the JSON pointer of the part at fault, never its value.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .errors import CubeError

MAX_VALUES = 1000
EARLIEST, LATEST = date(1970, 1, 1), date(2105, 12, 31)  # what the mart's Date holds
MAX_NAMES = 32
UNITS = ("day", "week", "month", "quarter", "year")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Period:
    """Inclusive local dates."""

    start: date
    end: date

    def shifted_years(self, years: int) -> "Period":
        return Period(_add_years(self.start, years), _add_years(self.end, years))

    def as_json(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def previous(self) -> "Period":
        """The period just before: whole months (and so quarters, years) shift by their count of
        months, any other span by its count of days (a week by a week)."""
        after = self.end + timedelta(days=1)
        if self.start.day == 1 and after.day == 1:
            months = (after.year - self.start.year) * 12 + after.month - self.start.month
            index = self.start.year * 12 + self.start.month - 1 - months
            return Period(date(index // 12, index % 12 + 1, 1), self.start - timedelta(days=1))
        return Period(self.start - (after - self.start), self.start - timedelta(days=1))


@dataclass(frozen=True)
class Filter:
    level: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Having:
    name: str
    op: str
    value: float


@dataclass(frozen=True)
class SortKey:
    by: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    cube: str
    measures: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    period: Period | None = None
    compare: str | None = None  # "year_ago": each cell carries the same cell one year earlier
    previous: bool = False  # also the cells of the period just before (answer["previous"])
    sort: tuple[SortKey, ...] = ()
    top: int | None = None
    having: tuple[Having, ...] = ()
    labels: bool = False  # also return the names of the group-by levels' codes


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February -> 28 February
        return day.replace(year=day.year + years, day=28)


def unit_start(day: date, unit: str) -> date:
    """The first day of the day / ISO week / month / quarter / year containing ``day``."""
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _units_before(start: date, unit: str, count: int) -> date:
    """The start of the unit ``count`` units before the one starting at ``start``."""
    if unit == "day":
        return start - timedelta(days=count)
    if unit == "week":
        return start - timedelta(weeks=count)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * count
    index = start.year * 12 + start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def resolve_period(spec: Any, *, today: date) -> Period:
    """``{"from", "to"}``, ``{"last": n, "unit": u}`` (n complete units before the current one) or
    ``{"this": u}`` (the current unit up to ``as_of``); ``as_of`` (default ``today``) anchors both."""
    if not isinstance(spec, dict):
        raise CubeError("cube.query.invalid", "period must be an object", field="/period")
    as_of = _date(spec["as_of"], "/period/as_of") if "as_of" in spec else today
    if "from" in spec or "to" in spec:
        start, end = _date(spec.get("from"), "/period/from"), _date(spec.get("to"), "/period/to")
        if end < start:
            raise CubeError("cube.query.invalid", "period ends before it starts", field="/period")
        return _bounded(Period(start, end), "/period")
    if "last" in spec:
        count, unit = spec["last"], spec.get("unit")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 3660 or unit not in UNITS:
            raise CubeError("cube.query.invalid",
                            "last needs a count (1-3660) and a unit (day, week, month, quarter, year)",
                            field="/period/last")
        current = unit_start(as_of, unit)
        try:
            return _bounded(Period(_units_before(current, unit, count), current - timedelta(days=1)), "/period/last")
        except (ValueError, OverflowError):
            raise CubeError("cube.query.invalid", "the period lies outside 1970-2105", field="/period/last") from None
    if "this" in spec:
        if spec["this"] not in UNITS:
            raise CubeError("cube.query.invalid", "this needs a unit (day, week, month, quarter, year)",
                            field="/period/this")
        return _bounded(Period(unit_start(as_of, spec["this"]), as_of), "/period/this")
    raise CubeError("cube.query.invalid", "period needs from/to, last/unit or this", field="/period")


def _bounded(period: Period, field: str) -> Period:
    """``period`` if the mart can hold its dates (ClickHouse ``Date``: 1970-2105), else refused."""
    if period.start < EARLIEST or period.end > LATEST:
        raise CubeError("cube.query.invalid", "the period lies outside 1970-2105", field=field)
    return period


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CubeError("cube.query.invalid", "not a date (YYYY-MM-DD)", field=field) from None


def _names(body: dict, key: str) -> tuple[str, ...]:
    value = body.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_NAMES or not all(isinstance(v, str) for v in value):
        raise CubeError("cube.query.invalid", "must be a list of names", field=f"/{key}")
    if len(set(value)) != len(value):
        raise CubeError("cube.query.invalid", "names repeat", field=f"/{key}")
    return tuple(value)


def _filters(body: dict) -> tuple[Filter, ...]:
    raw = body.get("filters", [])
    if not isinstance(raw, list) or len(raw) > MAX_NAMES:
        raise CubeError("cube.query.invalid", "filters must be a list", field="/filters")
    filters = []
    for index, item in enumerate(raw):
        values = item.get("in") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("level"), str) or not isinstance(values, list) \
                or not 0 < len(values) <= MAX_VALUES or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                                for v in values):
            raise CubeError("cube.query.invalid", "a filter is {level, in: [values]}", field=f"/filters/{index}")
        filters.append(Filter(item["level"], tuple(str(v) for v in values)))
    return tuple(filters)


def _sort(body: dict) -> tuple[SortKey, ...]:
    raw = body.get("sort", [])
    if not isinstance(raw, list) or len(raw) > MAX_NAMES:
        raise CubeError("cube.query.invalid", "sort must be a list", field="/sort")
    keys = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("by"), str) or \
                not isinstance(item.get("desc", False), bool):
            raise CubeError("cube.query.invalid", "a sort key is {by, desc}", field=f"/sort/{index}")
        keys.append(SortKey(item["by"], item.get("desc", False)))
    return tuple(keys)


def _having(body: dict) -> tuple[Having, ...]:
    raw = body.get("having", [])
    if not isinstance(raw, list) or len(raw) > MAX_NAMES:
        raise CubeError("cube.query.invalid", "having must be a list", field="/having")
    out = []
    for index, item in enumerate(raw):
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or item.get("op") not in OPERATORS \
                or not isinstance(value, (int, float)) or isinstance(value, bool):
            raise CubeError("cube.query.invalid", "a condition is {name, op, value}", field=f"/having/{index}")
        out.append(Having(item["name"], item["op"], float(value)))
    return tuple(out)


COMPARES = ("year_ago", "previous")


def _compares(value: Any) -> tuple[str, ...]:
    """``compare``: one of COMPARES, or a list of them."""
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or len(values) > len(COMPARES) \
            or any(item not in COMPARES for item in values) or len(set(values)) != len(values):
        raise CubeError("cube.query.invalid", "compare is year_ago, previous, or a list of both", field="/compare")
    return tuple(values)


def parse_query(cube: str, body: Any, *, today: date) -> Query:
    """The query of ``body`` (decoded JSON) on cube ``cube``."""
    if not isinstance(body, dict):
        raise CubeError("cube.query.invalid", "query must be a JSON object", field="")
    unknown = set(body) - {"cube", "measures", "indicators", "group_by", "filters", "period", "compare", "sort",
                           "top", "having", "labels"}
    if unknown:
        # the field names the place (the body's keys), never the key: the client's text may be personal data
        raise CubeError("cube.query.invalid", "unknown query keys", field="/")
    top = body.get("top")
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 10_000):
        raise CubeError("cube.query.invalid", "top must be 1-10000", field="/top")
    labels = body.get("labels", False)
    if not isinstance(labels, bool):
        raise CubeError("cube.query.invalid", "labels must be true or false", field="/labels")
    compares = _compares(body.get("compare"))
    compare = "year_ago" if "year_ago" in compares else None
    period = resolve_period(body["period"], today=today) if body.get("period") is not None else None
    if compares and period is None:
        raise CubeError("cube.query.invalid", "compare needs a period", field="/compare")
    if compare and period.start.year <= EARLIEST.year:
        raise CubeError("cube.query.invalid", "the year-ago period lies before 1970", field="/compare")
    if "previous" in compares and period.previous().start < EARLIEST:
        raise CubeError("cube.query.invalid", "the previous period lies before 1970", field="/compare")
    query = Query(cube=cube, measures=_names(body, "measures"), indicators=_names(body, "indicators"),
                  group_by=_names(body, "group_by"), filters=_filters(body), period=period, compare=compare,
                  previous="previous" in compares, sort=_sort(body), top=top, having=_having(body), labels=labels)
    if not query.measures and not query.indicators:
        raise CubeError("cube.query.invalid", "ask for at least one measure or indicator", field="/measures")
    return query


__all__ = ["Period", "Filter", "Having", "SortKey", "Query", "parse_query", "resolve_period", "unit_start", "UNITS"]
