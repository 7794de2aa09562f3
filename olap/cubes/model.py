"""Cube declarations: plain frozen values that the compiler reads — never SQL written per query.

A cube is one fact (or rollup-backed fact, or reference table) seen through *conformed* dimensions:
a level named ``institution.district`` means the same thing in every cube that declares it, which
is what lets one query combine measures of several cubes (drill-across: bed occupancy takes the
occupied bed-days of ``discharges`` and the open bed-days of ``institution_month``).

Expressions are ClickHouse SQL over the fact table's own columns; ``{join.column}`` reads an
attribute of a joined dimension table (``{institution.district_code}``). Every expression must be
valid on ClickHouse 18.16 and current releases alike (see ``docs/olap.md``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Render(str, Enum):
    """How a level's value becomes JSON: text, an integer, or a date-like label."""

    TEXT = "text"
    INT = "int"
    DAY = "day"          # Date -> 'YYYY-MM-DD'
    WEEK = "week"        # Monday (Date) -> 'YYYY-MM-DD'
    MONTH = "month"      # YYYYMM -> 'YYYY-MM'
    QUARTER = "quarter"  # YYYY*10+Q -> 'YYYY-Qn'
    YEAR = "year"        # YYYY -> 'YYYY'


DATE_GRAINS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Join:
    """A dimension table joined on ``fact_column = key`` (``condition`` narrows the dimension's rows)."""

    table: str
    fact_column: str
    key: str
    condition: str = ""


@dataclass(frozen=True)
class Level:
    """One level of a hierarchy: an expression over the fact, or (``join``) one attribute of a dimension."""

    name: str
    expr: str
    join: str | None = None
    render: Render = Render.TEXT
    title: str = ""
    parent: str | None = None  # the coarser level it nests in; None = the previous level, '' = none

    @property
    def filterable(self) -> bool:
        """Date levels are chosen with the query's period, not with filters."""
        return self.render in (Render.TEXT, Render.INT)


@dataclass(frozen=True)
class Label:
    """Where a level's codes get their names: ``key`` → ``name`` in dimension ``table`` (read exactly)."""

    table: str
    key: str
    name: str
    condition: str = ""


@dataclass(frozen=True)
class Dimension:
    """A dimension and its hierarchy, coarsest level first (``city`` before ``district``)."""

    name: str
    levels: tuple[Level, ...]
    title: str = ""

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    def parents(self, name: str) -> tuple[str, ...]:
        """The coarser levels ``name`` nests in, closest first: margins a user can also ask for, and
        functions of ``name`` (grouping by them as well never splits a cell)."""
        names = [level.name for level in self.levels]
        chain: list[str] = []
        while True:
            level = self.level(name)
            index = names.index(name)
            parent = level.parent if level.parent is not None else (names[index - 1] if index else "")
            if not parent:
                return tuple(chain)
            chain.append(parent)
            name = parent


class MeasureKind(str, Enum):
    COUNT = "count"            # events
    SUM = "sum"
    DISTINCT = "distinct"      # distinct persons, documents, …: not additive across cells
    QUANTILE = "quantile"      # a median: not additive either


@dataclass(frozen=True)
class Measure:
    """An aggregate of the fact (``expr``), e.g. ``count()``, ``sum(total_fen)``, ``uniqExact(person_key)``.

    ``privacy`` names the measure whose small values (1-4) withhold a cell when this one is asked,
    besides the cube's privacy measure: a count of persons or their events under a condition is
    checked against the persons under the SAME condition (``antenatal_checkups`` -> ``antenatal_women``,
    ``countIf(direction = 'down')`` -> itself), since the cell's overall count may be large while the
    condition's is not. ``None``: the cube's privacy measure covers it (sums, unconditional counts
    that are never below it).
    """

    name: str
    expr: str
    kind: MeasureKind = MeasureKind.COUNT
    unit: str = ""
    title: str = ""
    privacy: str | None = None
    # (level, value): the measure is the count of the fact rows with that value of a filterable level
    # (``sum(case_first)`` counts the rows of case.first = 1), so a cell names its facts as a count() does
    counts_rows: tuple[str, str] | None = None


@dataclass(frozen=True)
class Indicator:
    """``numerator / denominator × factor``; a name with a dot (``discharges.bed_days``) is another cube's."""

    name: str
    numerator: str
    denominator: str
    factor: float = 1.0
    unit: str = ""
    title: str = ""
    definition: str = ""


@dataclass(frozen=True)
class CubeRollup:
    """A rollup table that answers the cube when every column a query reads is one of its columns.

    ``measures`` maps the cube's measures to aggregates over the rollup (``visits -> sum(visits)``);
    week and month rollups hold one row per week (``date`` = Monday) or month (``date`` = the 1st),
    so they answer only periods of whole weeks / months and date levels their cell determines.
    """

    table: str
    columns: frozenset[str]
    measures: dict[str, str]
    grain: str = "day"  # day | week | month (see olap.rollups.Rollup.grain)
    # dimension attributes the rollup holds itself ("institution.district_code" -> its column): levels
    # and filters on them read the column, with no join and no need for the join's fact column
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cube:
    """One fact seen through dimensions, with measures and indicators.

    ``date_column`` is the column the period applies to (``None``: a reference table such as the
    population, read for the year the period ends in through ``year_column``). ``privacy_measure``
    names the person-level count whose small cells are suppressed (``None``: no persons in the cube).
    ``scope`` maps the access scopes (``district``, ``institution``) to the levels they filter.
    ``constant_over`` names dimensions of *other* cubes over which this cube's measures do not vary
    (the population is the same for every disease): drill-across repeats its cell along them.
    """

    name: str
    fact: str
    dimensions: tuple[Dimension, ...]
    measures: tuple[Measure, ...]
    title: str = ""
    date_column: str | None = "date"
    year_column: str | None = None
    condition: str = ""
    joins: dict[str, Join] = field(default_factory=dict)
    indicators: tuple[Indicator, ...] = ()
    rollups: tuple[CubeRollup, ...] = ()
    privacy_measure: str | None = None
    # When set, the privacy measure only applies to queries that group or filter by one of these
    # levels (e.g. message counts become person-level once broken down by document type: one
    # disease report from one clinic on one day is one patient).
    privacy_levels: frozenset[str] = frozenset()
    scope: dict[str, str] = field(default_factory=dict)
    constant_over: frozenset[str] = frozenset()

    def privacy_for(self, levels: set[str]) -> str | None:
        """The measure whose small values are withheld in a query that uses ``levels``, if any."""
        if self.privacy_levels and not (self.privacy_levels & levels):
            return None
        return self.privacy_measure

    def sensitive_for(self, measures: list[str] | tuple[str, ...], levels: set[str]) -> list[str]:
        """The measures whose small values withhold a cell of a query asking ``measures`` at ``levels``:
        the privacy measure and each asked measure's declared ``privacy`` (none where privacy_for is None)."""
        privacy = self.privacy_for(levels)
        if not privacy:
            return []
        declared = (self.measure(name).privacy for name in measures if name in {m.name for m in self.measures})
        return list(dict.fromkeys([privacy, *(name for name in declared if name)]))

    def __post_init__(self) -> None:
        names = [measure.name for measure in self.measures] + [ind.name for ind in self.indicators]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate measure or indicator names")
        if self.privacy_measure and self.privacy_measure not in names:
            raise ValueError(f"{self.name}: privacy measure {self.privacy_measure} is not declared")
        if self.privacy_levels and not self.privacy_measure:
            raise ValueError(f"{self.name}: privacy_levels without a privacy measure")
        for measure in self.measures:
            if measure.privacy and (not self.privacy_measure or measure.privacy not in names):
                raise ValueError(f"{self.name}: measure {measure.name} has privacy {measure.privacy} "
                                 "without a privacy measure, or it is not declared")
        for level in (level for dim in self.dimensions for level in dim.levels):
            if level.join and level.join not in self.joins:
                raise ValueError(f"{self.name}: level {level.name} uses undeclared join {level.join}")
        for target in self.scope.values():
            self.level(target)

    def level(self, qualified: str) -> Level:
        """``'institution.district'`` -> its Level (KeyError if the cube has no such level)."""
        dimension, _, level = qualified.partition(".")
        return self.dimension(dimension).level(level)

    def dimension(self, name: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.name == name:
                return dimension
        raise KeyError(name)

    def has_level(self, qualified: str) -> bool:
        try:
            self.level(qualified)
        except KeyError:
            return False
        return True

    def measure(self, name: str) -> Measure:
        for measure in self.measures:
            if measure.name == name:
                return measure
        raise KeyError(name)

    def indicator(self, name: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.name == name:
                return indicator
        raise KeyError(name)

    def describe(self) -> dict:
        """The declaration as plain JSON (what ``GET /api/cubes`` lists)."""
        return {
            "name": self.name, "title": self.title, "fact": self.fact,
            "period": "date" if self.date_column else f"year ({self.year_column})",
            "dimensions": [{"name": dim.name, "title": dim.title,
                            "levels": [{"name": lvl.name, "title": lvl.title, "date": not lvl.filterable}
                                       for lvl in dim.levels]} for dim in self.dimensions],
            "measures": [{"name": m.name, "kind": m.kind.value, "unit": m.unit, "title": m.title,
                          "privacy": m.privacy} for m in self.measures],
            "indicators": [{"name": i.name, "numerator": i.numerator, "denominator": i.denominator,
                            "factor": i.factor, "unit": i.unit, "title": i.title, "definition": i.definition}
                           for i in self.indicators],
            "rollups": [rollup.table for rollup in self.rollups],
            "suppressed_below": 5 if self.privacy_measure else None,
            "privacy_measure": self.privacy_measure,
            "privacy_levels": sorted(self.privacy_levels),  # empty: always; else only when one is used
        }


__all__ = ["Label", "Render", "DATE_GRAINS", "Join", "Level", "Dimension", "MeasureKind", "Measure", "Indicator",
           "CubeRollup", "Cube"]
