"""The truth kept beside the region: what the exchange and the cubes must end up saying.

- ``truth/indicators.csv``: per institution × month, the 诊疗人次 (visits), the charges' sum and
  the charge per visit (what the hospital cube's ``visits`` and charge-per-visit give after the ETL);
- ``truth/records.csv``: record id (document id) → the true person id (what the MPI must link);
- ``population.csv``: the ``ref_population`` reference (olap/cubes/population.py ``COLUMNS``) of the
  generated residents, and ``population-bands.csv`` by district × sex × age band.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .people import Person, age_band
from .visits import Visit

INDICATOR_COLUMNS = ("institution", "month", "visits", "total_fen", "drug_fen", "charges", "charge_per_visit",
                     "drug_cost_per_visit", "drug_share")
RECORD_COLUMNS = ("record_id", "kind", "person_id", "institution", "month")
POPULATION_COLUMNS = ("division_code", "year", "population", "live_births", "children_under_7", "source")
BAND_COLUMNS = ("division_code", "year", "sex", "age_band", "population")


def _ratio(numerator: int, denominator: int, factor: str) -> str:
    """numerator / denominator × factor to 2 places, halves rounded up (exact: no float on the way)."""
    value = Decimal(numerator) * Decimal(factor) / Decimal(denominator)
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class VisitTruth:
    """Accumulates the truth of visits as they are planned (``add``), member-month by member-month."""

    # (institution, month) -> [visits, total fen, drug fen]: the hospital cube's measures, exactly
    cells: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, event) -> None:
        """Count an event as the hub keeps it in the end: a visit in its own month; a version 2 in place of
        the visit it ``replaces``; a Cancellation takes away the visit it ``cancels``; a document the hub
        rejects (``expected`` "rejected:<code>", region/defects.py) never counts; other kinds are no visits."""
        if getattr(event, "expected", "").startswith("rejected"):
            return
        if event.kind == Visit.kind:
            replaced = getattr(event, "replaces", None)
            if replaced is not None:
                self._count(replaced, -1)
            self._count(event, 1)
        elif event.kind == "Cancellation" and getattr(getattr(event, "cancels", None), "kind", "") == Visit.kind:
            self._count(event.cancels, -1)

    def _count(self, visit: Visit, sign: int) -> None:
        cell = self.cells.setdefault((visit.institution, visit.month), [0, 0, 0])
        cell[0] += sign
        cell[1] += sign * visit.total_fen
        cell[2] += sign * visit.drug_fen

    def indicator_rows(self):
        """One row a cell; the indicators as the cube defines them (门诊次均费用 = total_fen / visits × 0.01,
        门诊次均药费 = drug_fen / visits × 0.01, 药占比 = drug_fen / total_fen × 100), rounded to 2 places."""
        for (institution, month), (visits, fen, drug) in sorted(self.cells.items()):
            if not visits:
                continue  # every visit of the cell cancelled: the cube has no such cell
            yield (institution, month, visits, fen, drug, _yuan(fen), _ratio(fen, visits, "0.01"),
                   _ratio(drug, visits, "0.01"), _ratio(drug, fen, "100") if fen else "")


def record_row(event) -> tuple[str, str, str, str, str]:
    """Any event (events.Event): its document id, kind, true person ("" when about no one), member, month."""
    return event.record_id, event.kind, event.person_id or "", event.institution, event.month


def population_rows(people: list[Person], *, year: int, seed: int):
    """``ref_population`` rows of the residents at the end of ``year`` (one per district)."""
    end = date(year, 12, 31)
    totals, births, under_7 = Counter(), Counter(), Counter()
    for person in people:
        totals[person.division] += 1
        births[person.division] += person.birth_date.year == year
        under_7[person.division] += person.age_at(end) < 7
    for division in sorted(totals):
        yield (division, year, totals[division], births[division], under_7[division],
               f"synthetic region (seed {seed}; not official statistics)")


def band_rows(people: list[Person], *, year: int):
    end = date(year, 12, 31)
    counts = Counter((p.division, p.sex, age_band(p.age_at(end))) for p in people)
    for (division, sex, band), count in sorted(counts.items()):
        yield division, year, sex, band, count


def write_csv(path: Path, columns, rows) -> int:
    """Write ``rows`` under a header (UTF-8, LF line ends: byte-identical for the same rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written


def read_indicators(path: Path) -> dict[tuple[str, str], dict]:
    with path.open(encoding="utf-8", newline="") as source:
        return {(row["institution"], row["month"]): row for row in csv.DictReader(source)}


__all__ = ["INDICATOR_COLUMNS", "RECORD_COLUMNS", "POPULATION_COLUMNS", "BAND_COLUMNS", "VisitTruth", "record_row",
           "population_rows", "band_rows", "write_csv", "read_indicators"]
