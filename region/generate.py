"""``generate``: write a region's files into a directory, deterministically from a seed.

    DIR/registry.json            the members, departments, practitioners (``hie registry import``)
    DIR/population.csv           the ``ref_population`` reference of the residents
    DIR/population-bands.csv     residents by district × sex × age band
    DIR/people.csv               the residents (SYNTHETIC), the truth behind every record
    DIR/truth/indicators.csv     per institution × month: visits, charges, charge per visit
    DIR/truth/records.csv        record id → kind, true person id (every event)
    DIR/truth/*.csv              what each kind of event keeps (events.TRUTHS)
    DIR/manifest.json            seed, size, year, months, counts, generator version

The same seed, size and generator version give byte-identical files (no clock is written). The
documents themselves are not written: ``Generated.documents()`` rebuilds them lazily from the seed,
member by member and month by month, for whoever sends them.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .errors import RegionError
from .model import Region, build_region, registry_document
from .people import PEOPLE_COLUMNS, Person, generate_people, people_rows
from .truth import (
    BAND_COLUMNS, INDICATOR_COLUMNS, POPULATION_COLUMNS, RECORD_COLUMNS, VisitTruth, band_rows, population_rows,
    record_row, write_csv,
)
from .events import TRUTHS, plan_all
from .visits import Pools, Visit, member_months

GENERATOR_VERSION = "5"  # 5: a mistyped resident ID is a stored visit (issue 23)
YEAR = 2025
# residents, months of care; "month": the small region's residents and its last month only (the demo's
# test: a third of the small region's documents through the exchange)
SIZES = {"small": (3_000, 3), "full": (50_000, 12), "month": (3_000, 1)}
DEFAULT_END = {"small": (YEAR, 3), "full": (YEAR, 12), "month": (YEAR, 3)}  # the last month of care by default


def months_ending(end: tuple[int, int], count: int) -> list[tuple[int, int]]:
    """The ``count`` calendar months that end with ``end`` (year, month), oldest first."""
    year, month = end
    index = year * 12 + month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); ``RegionError`` ``region.end`` otherwise (2000-01 .. 2099-12)."""
    try:
        year, month = (int(part) for part in text.split("-"))
    except ValueError:
        year = month = 0
    if not (2000 <= year <= 2099 and 1 <= month <= 12 and len(text) == 7):
        raise RegionError("region.end", "the last month of care is written YYYY-MM (2000-01 to 2099-12)")
    return year, month


@dataclass
class Generated:
    """A region as its seed and size define it: what every stage (files, documents, loaders) iterates."""

    seed: int
    size: str
    region: Region
    people: list[Person]
    periods: list[tuple[int, int]]

    @property
    def year(self) -> int:
        """The year of the last month of care: ages, live births and the population are of its end."""
        return self.periods[-1][0]

    @property
    def end(self) -> str:
        return f"{self.periods[-1][0]}-{self.periods[-1][1]:02d}"

    @classmethod
    def build(cls, *, seed: int, size: str, end: tuple[int, int] | None = None) -> Generated:
        if size not in SIZES:
            raise RegionError("region.size", f"a region's size is one of {', '.join(SIZES)}", size=size)
        residents, count = SIZES[size]
        end = end or DEFAULT_END[size]
        return cls(seed, size, build_region(seed=seed), generate_people(count=residents, seed=seed, year=end[0]),
                   months_ending(end, count))

    @classmethod
    def open(cls, directory: Path) -> Generated:
        """The region whose files are in ``directory`` (rebuilt from its manifest's seed and size)."""
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise RegionError("region.files.missing", "no readable manifest.json: run hie region generate",
                              directory=str(directory)) from None
        if manifest.get("generator_version") != GENERATOR_VERSION:
            raise RegionError("region.files.version", "the files are of another generator version: generate "
                              "them again", found=manifest.get("generator_version"), expected=GENERATOR_VERSION)
        return cls.build(seed=manifest["seed"], size=manifest["size"], end=parse_month(manifest["months"][-1]))

    def pools(self) -> Pools:
        return Pools(self.people, year=self.year)

    def member_months(self):
        """Care givers × months with their outpatient visits only."""
        return member_months(self.region, self.pools(), seed=self.seed, periods=self.periods)

    def events(self, pools: Pools | None = None):
        """Every sending member × month with all its events (events.py), member by member."""
        return plan_all(self.region, pools or self.pools(), seed=self.seed, periods=self.periods)

    def documents(self) -> Iterator[tuple[object, etree._Element]]:
        """Every event with its document, built one at a time."""
        for _, _, _, events in self.events():
            for event in events:
                yield event, event.render(self.region)


def _dump(path: Path, document) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def generate(out: Path, *, seed: int, size: str, end: tuple[int, int] | None = None, report: Callable[[str, dict, float], None] = lambda *_: None
             ) -> dict:
    """Write the region of ``seed`` and ``size`` into ``out``; ``report(stage, counts, seconds)`` after
    each stage. Returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generated = Generated.build(seed=seed, size=size, end=end)
    registry = registry_document(generated.region)
    _dump(out / "registry.json", registry)
    counts = {"institutions": len(registry["institutions"]), "departments": len(registry["departments"]),
              "practitioners": len(registry["practitioners"])}
    report("registry", dict(counts), time.perf_counter() - started)

    started = time.perf_counter()
    people = generated.people
    counts["residents"] = write_csv(out / "people.csv", PEOPLE_COLUMNS, people_rows(people))
    counts["households"] = len({p.household for p in people})
    write_csv(out / "population.csv", POPULATION_COLUMNS, population_rows(people, year=generated.year, seed=seed))
    write_csv(out / "population-bands.csv", BAND_COLUMNS, band_rows(people, year=generated.year))
    report("people", {"residents": counts["residents"], "households": counts["households"]},
           time.perf_counter() - started)

    started = time.perf_counter()
    truth = VisitTruth()
    keepers = [factory() for factory in TRUTHS]
    kinds: dict[str, int] = {}

    def records():
        for _, _, _, events in generated.events():
            for event in events:
                kinds[event.kind] = kinds.get(event.kind, 0) + 1
                truth.add(event)  # visits, their corrections and cancellations (VisitTruth.add)
                for keeper in keepers:
                    keeper.add(event)
                yield record_row(event)

    counts["records"] = write_csv(out / "truth" / "records.csv", RECORD_COLUMNS, records())
    counts["visits"] = kinds.get(Visit.kind, 0)
    counts["documents"] = dict(sorted(kinds.items()))
    write_csv(out / "truth" / "indicators.csv", INDICATOR_COLUMNS, truth.indicator_rows())
    files = ["registry.json", "population.csv", "population-bands.csv", "people.csv", "truth/indicators.csv",
             "truth/records.csv"]
    for keeper in keepers:
        for name, (columns, rows) in keeper.files().items():
            if name.endswith(".json"):  # a document, not a table: ``rows`` is the JSON value
                _dump(out / "truth" / name, rows)
            else:
                write_csv(out / "truth" / name, columns, rows)
            files.append(f"truth/{name}")
    report("events", {"documents": counts["records"], **kinds}, time.perf_counter() - started)

    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "size": size, "year": generated.year,
                "months": [f"{year}-{month:02d}" for year, month in generated.periods], "counts": counts,
                "files": files,
                "mark": "SYNTHETIC: every person, member and practitioner here is invented"}
    _dump(out / "manifest.json", manifest)
    return manifest


__all__ = ["GENERATOR_VERSION", "YEAR", "SIZES", "DEFAULT_END", "Generated", "generate", "months_ending",
           "parse_month"]
