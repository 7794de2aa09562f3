"""The population figures a bureau declares (the denominators of incidence and coverage), all or nothing.

A file has the columns of the mart's ``ref_population`` (``COLUMNS``, the same tuple as
``olap.cubes.population.COLUMNS``, which the hub may not import): one row per district-level
division and year. ``read_population_file`` parses it; ``import_population`` checks every row before
it writes any, then upserts ``registry_population``. The ETL lets these rows replace the reference
file's (``schemas/reference/population.csv``) for the same division and year. An error names the
row (the header being row 1) and the field, and never quotes the file.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.errors import HubError

from .. import audit
from .actor import Actor
from .models import DivisionPopulation
from .regions import get_region, is_district

COLUMNS = ("division_code", "year", "population", "live_births", "children_under_7", "source")
FIGURES = ("population", "live_births", "children_under_7")
FIRST_YEAR, LAST_YEAR = 1949, 2100
MAX_FIGURE = 2_000_000_000  # above any division's population; keeps every figure in a 32-bit INTEGER
MAX_SOURCE = 200
_DIGITS = re.compile(r"^[0-9]{1,10}$")


@dataclass(frozen=True)
class PopulationCounts:
    """What an import did: rows created, updated (figures or source changed) and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _invalid(row: str, name: str | None, detail: str) -> HubError:
    return HubError("registry.population.invalid", detail, row=row, **({"field": name} if name else {}))


# ------------------------------------------------------------------------------------- reading

def read_population_file(content: bytes) -> list[dict[str, str]]:
    """The rows of a population CSV's bytes (UTF-8, a BOM allowed), each a dict of ``COLUMNS``
    to its text; ``registry.population.invalid`` naming the row when the file is not such a CSV."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid("file", None, "the file is not UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = list(reader)
    except csv.Error:
        raise _invalid(f"row {reader.line_num}", None, "not a CSV row") from None
    while lines and not lines[-1]:
        lines.pop()  # trailing empty lines
    if not lines:
        raise _invalid("row 1", None, f"the file is empty; the header is {','.join(COLUMNS)}")
    header = [name.strip() for name in lines[0]]
    for position, name in enumerate(header, start=1):
        if name not in COLUMNS or header.index(name) != position - 1:
            raise _invalid("row 1", f"column {position}", "not a population column, or a repeated one")
    for name in COLUMNS:
        if name not in header:
            raise _invalid("row 1", name, "the header lacks this column")
    if len(lines) == 1:
        raise _invalid("row 2", None, "the file holds no figures")
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            raise _invalid(f"row {number}", None, "not as many cells as header columns")
        if any("\n" in cell or "\r" in cell for cell in cells):
            raise _invalid(f"row {number}", None, "a cell spans lines")
        rows.append(dict(zip(header, cells)))
    return rows


# ---------------------------------------------------------------------------------- validating

def _figure(value, row: str, name: str) -> int:
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FIGURE:
        raise _invalid(row, name, f"not a whole number 0..{MAX_FIGURE:,}")
    return value


def _year(value, row: str) -> int:
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not FIRST_YEAR <= value <= LAST_YEAR:
        raise _invalid(row, "year", f"not a year {FIRST_YEAR}..{LAST_YEAR}")
    return value


def _checked(values: Mapping, row: str) -> dict:
    if not isinstance(values, Mapping):
        raise _invalid(row, None, "not a row of named cells")
    unknown = [name for name in values if name not in COLUMNS]
    if unknown:
        raise _invalid(row, None, "a cell outside the population columns")
    code = values.get("division_code")
    code = code.strip() if isinstance(code, str) else code
    region = get_region(code=code) if isinstance(code, str) else None
    if region is None or not is_district(region):
        raise _invalid(row, "division_code",
                       "not a district-level division of the divisions code list (schemas/codes/divisions.csv)")
    checked = {"division_code": code, "year": _year(values.get("year"), row)}
    for name in FIGURES:
        checked[name] = _figure(values.get(name), row, name)
    for name in ("live_births", "children_under_7"):
        if checked[name] > checked["population"]:
            raise _invalid(row, name, "above the population")
    source = values.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _invalid(row, "source", "missing: say where the figures come from (yearbook, census)")
    if len(source.strip()) > MAX_SOURCE:
        raise _invalid(row, "source", f"longer than {MAX_SOURCE} characters")
    checked["source"] = source.strip()
    return checked


def check_population(rows: Sequence[Mapping]) -> list[dict]:
    """Every row checked and typed (in order); the first bad one is ``registry.population.invalid``
    naming its row (``row N``, the header of a file being row 1) and field."""
    checked, seen = [], {}
    for index, values in enumerate(rows):
        row = f"row {index + 2}"
        figures = _checked(values, row)
        key = (figures["division_code"], figures["year"])
        if key in seen:
            raise _invalid(row, "year", f"the same division and year as {seen[key]}")
        seen[key] = row
        checked.append(figures)
    return checked


# ------------------------------------------------------------------------------------ applying

def import_population(session: Session, *, actor: Actor, rows: Sequence[Mapping], now: datetime) -> PopulationCounts:
    """Upsert the figures of ``rows`` (mappings of ``COLUMNS``; texts or numbers) into
    ``registry_population`` in the caller's transaction, after checking every row: a bad row
    refuses the whole file. Rows equal to what is stored are left alone; one audit event when
    anything changed (no event for a file imported again)."""
    checked = check_population(rows)
    stored = {(entry.division_code, entry.year): entry for entry in session.scalars(select(DivisionPopulation))}
    created = updated = unchanged = 0
    for figures in checked:
        entry = stored.get((figures["division_code"], figures["year"]))
        if entry is None:
            session.add(DivisionPopulation(**figures, updated_at=now))
            created += 1
        elif all(getattr(entry, name) == figures[name] for name in (*FIGURES, "source")):
            unchanged += 1
        else:
            for name in (*FIGURES, "source"):
                setattr(entry, name, figures[name])
            entry.updated_at = now
            updated += 1
    if created or updated:
        session.flush()
        audit.record(session, "registry.population.import", member=actor.member, verified=actor.verified,
                     client_address=actor.client_address,
                     detail=f"created {created}, updated {updated}, unchanged {unchanged}")
    return PopulationCounts(created=created, updated=updated, unchanged=unchanged)


def query_population(session: Session) -> list[DivisionPopulation]:
    """Every declared figure, by division and year."""
    return list(session.scalars(select(DivisionPopulation).order_by(DivisionPopulation.division_code,
                                                                    DivisionPopulation.year)))


__all__ = ["COLUMNS", "FIGURES", "FIRST_YEAR", "LAST_YEAR", "MAX_FIGURE", "MAX_SOURCE", "PopulationCounts",
           "read_population_file", "check_population", "import_population", "query_population"]
