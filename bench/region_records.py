"""The synthetic region's patient records as its members typed them, with the true person of each.

``bench.mpi`` measures the MPI on these: the residents of ``region.generate_people`` and, for every
outpatient visit of a year (``region.Generated``), the patient block of the visit's rendered document
read as the hub reads it (``hub.records.header.read_patient``, as ``tests/region/test_linking.py``
does), in arrival order (visit time; a correction when it was made). Documents the hub rejects are
left out, as are cancellations (they name a record, not a patient to match).

Rendering is the slow part (~0.4–0.8 ms a document), so members are read in parallel processes.
"""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from datetime import datetime

from hub.mpi import PatientTraits

DOC = "{urn:hie:doc:v1}"
YEAR = 2025  # region.YEAR: the full region's year of care


@dataclass(frozen=True)
class RegionRecord:
    truth: str              # the resident's person id (region/people.py ``Person.id``)
    institution: str        # the member that typed it
    traits: PatientTraits   # the patient block of its document, as the hub reads it


@dataclass
class RegionPopulation:
    """The residents and their records in arrival order (what ``bench.mpi`` evaluates)."""

    persons: list             # region.Person
    records: list[RegionRecord]
    seed: int
    months: int
    mark: str = "SYNTHETIC"

    def resident_ids(self) -> dict[str, str]:
        return {person.id: person.resident_id for person in self.persons}


def region_of(persons: int, *, seed: int, months: int):
    """The region of ``seed`` with ``persons`` residents and ``months`` months of care from January
    (50,000 and 12: exactly ``Generated.build(seed=seed, size="full")``)."""
    from region import Generated, build_region, generate_people
    from region.generate import months_ending

    size = "full" if (persons, months) == (50_000, 12) else f"{persons} residents"
    return Generated(seed, size, build_region(seed=seed), generate_people(count=persons, seed=seed, year=YEAR),
                     months_ending((YEAR, months), months))


_worker: dict = {}


def _init(persons: int, seed: int, months: int) -> None:
    _worker["generated"] = region_of(persons, seed=seed, months=months)
    _worker["pools"] = _worker["generated"].pools()


def _member_records(code: str) -> list[tuple[datetime, str, str, PatientTraits]]:
    """(arrival time, true person, member, traits) of every visit record ``code`` sends in the year."""
    from lxml import etree

    from hub.records.header import read_patient
    from region import Visit, plan
    from schemas.reader import Reader

    generated, pools = _worker["generated"], _worker["pools"]
    member = generated.region.institution(code)
    out = []
    for year, month in generated.periods:
        for event in plan(generated.region, pools, member, seed=generated.seed, year=year, month=month):
            if event.kind != Visit.kind or getattr(event, "expected", "").startswith("rejected"):
                continue
            patient = event.render(generated.region).find(f"{DOC}header/{DOC}patient")
            traits = read_patient(Reader(etree.QName(patient).namespace), patient)
            arrived = getattr(event, "corrected_at", None) or event.time
            out.append((arrived, event.person_id, code, traits))
    return out


def read_population(persons: int, *, seed: int, months: int = 12, processes: int = 2) -> RegionPopulation:
    """The region's residents and their visit records in arrival order, read in ``processes`` processes."""
    from region import senders

    generated = region_of(persons, seed=seed, months=months)
    members = [m.code for m in senders(generated.region) if m.sees_patients]
    members.sort(key=lambda code: (not code.startswith("RH"), code))  # the hospitals first: they send most
    if processes > 1:
        with multiprocessing.get_context("spawn").Pool(processes, initializer=_init,
                                                       initargs=(persons, seed, months)) as pool:
            parts = pool.map(_member_records, members, chunksize=1)
    else:
        _init(persons, seed, months)
        parts = [_member_records(code) for code in members]
    rows = sorted((row for part in parts for row in part), key=lambda row: (row[0], row[2], row[1]))
    records = [RegionRecord(truth, institution, traits) for _, truth, institution, traits in rows]
    return RegionPopulation(generated.people, records, seed, months)


__all__ = ["RegionRecord", "RegionPopulation", "region_of", "read_population"]
