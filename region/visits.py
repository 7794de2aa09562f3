"""A year of outpatient care: visits planned per member and month, rendered as OutpatientVisit documents.

Planning is cheap and deterministic: the stream of member M in month YYYY-MM is seeded by
``(seed, M, YYYY-MM)`` alone, so any member-month can be planned (or re-planned) on its own and the
truth (truth.py) and the documents always agree. A document is built only when asked for, from the
example template (schemas/examples/OutpatientVisit.xml, as hub/cli/demo_visits.py does): no member's
year is ever held in memory.

Volumes: about 3.5 visits a resident a year at the community members of the resident's district
and 2.5 at the hospitals, winter months busier (the respiratory peak: more visits, and a larger
share of them respiratory), children and the elderly more often than adults.
"""
from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR

from .model import Institution, Region
from .people import Person, Typed, age_band, typed

DOC = "{urn:hie:doc:v1}"
CHINA = timezone(timedelta(hours=8))
RESIDENT_ROOT = "2.16.156.10011.1.3"
OUTPATIENT_ROOT = "2.16.156.10011.1.11"
CLINIC_RATE, HOSPITAL_RATE = 3.5, 2.5           # visits per resident and year
HOSPITAL_SHARES = {"RH01": 0.6, "RH02": 0.4}
SEASON = {1: 1.25, 2: 1.15, 3: 1.0, 4: 0.95, 5: 0.9, 6: 0.88, 7: 0.9, 8: 0.9, 9: 0.95, 10: 1.0, 11: 1.1, 12: 1.22}
PROPENSITY = {"0-4": 3.0, "5-14": 1.5, "15-44": 0.7, "45-64": 1.2, "65+": 2.2}
EMERGENCY_SHARE = 0.08  # of hospital visits
# ICD-10 code, hospital department, respiratory, youngest age, weight
DIAGNOSES = (
    ("J06.9", "HX", True, 0, 14), ("J20", "HX", True, 0, 5), ("J18", "HX", True, 0, 2), ("R05", "HX", True, 0, 3),
    ("J11", "HX", True, 0, 1), ("J44", "HX", False, 45, 3), ("I10", "XN", False, 30, 14), ("I25", "XN", False, 50, 4),
    ("E11", "NF", False, 30, 8), ("K29", "XH", False, 15, 6), ("K30", "XH", False, 5, 3), ("A09", "XH", False, 0, 3),
    ("M54", "GK", False, 18, 5), ("M17", "GK", False, 50, 3), ("L30", "PF", False, 0, 3), ("N39", "FK", False, 18, 2),
)
RESPIRATORY_WINTER_BOOST = 2.5  # respiratory weight from December to February (linear down to 1.0 in July)
# charge ranges in fen per category; drugs on every visit, the others on OTHER_CHARGE_SHARE of them
CHARGES = {"hospital": {"drugs": (3000, 40000), "examinations": (1000, 30000), "treatment": (500, 15000)},
           "community": {"drugs": (1000, 15000), "examinations": (500, 6000), "treatment": (300, 3000)}}
OTHER_CHARGE_SHARE = 0.6


@dataclass(frozen=True)
class Visit:
    """One planned outpatient visit: everything its document says, and the true person."""

    record_id: str          # the document id
    institution: str
    person_id: str
    time: datetime
    department: str         # the registry department code
    standard_department: str
    practitioner: tuple[str, str]
    emergency: bool
    diagnosis: str
    charges_fen: tuple[tuple[str, int], ...]
    patient: Typed
    outpatient_no: str
    kind: ClassVar[str] = "OutpatientVisit"

    @property
    def month(self) -> str:
        return f"{self.time:%Y-%m}"

    @property
    def total_fen(self) -> int:
        return sum(fen for _, fen in self.charges_fen)

    @property
    def drug_fen(self) -> int:
        return sum(fen for category, fen in self.charges_fen if category == "drugs")

    def render(self, region: Region) -> etree._Element:
        return render(self, region)


class Pools:
    """Who may come to a member: a district's residents (community members) or everyone (hospitals),
    weighted by their age band's propensity at the year's end."""

    def __init__(self, people: list[Person], *, year: int):
        end = date(year, 12, 31)
        self.people = people
        weights = [PROPENSITY[age_band(p.age_at(end))] for p in people]
        self._all = (list(range(len(people))), list(accumulate(weights)))
        self._by_district: dict[str, tuple[list[int], list[float]]] = {}
        for division in sorted({p.division for p in people}):
            index = [i for i, p in enumerate(people) if p.division == division]
            self._by_district[division] = (index, list(accumulate(weights[i] for i in index)))

    def residents(self, division: str) -> int:
        return len(self._by_district.get(division, ((),))[0])

    def draw(self, rng: random.Random, member: Institution, *, day: date) -> Person:
        index, cumulative = self._all if member.kind == "hospital" else self._by_district[member.division]
        for _ in range(50):
            person = self.people[index[rng.choices(range(len(index)), cum_weights=cumulative)[0]]]
            if person.birth_date <= day:
                return person
        return person


def expected_visits(region: Region, pools: Pools, member: Institution, month: int) -> float:
    """The planned mean of visits at ``member`` in ``month`` (before the month's noise)."""
    if member.kind == "hospital":
        return len(pools.people) * HOSPITAL_RATE / 12 * SEASON[month] * HOSPITAL_SHARES.get(member.code, 0.3)
    neighbours = [i for i in region.care_givers if i.kind != "hospital" and i.division == member.division]
    weight = {"community_center": 1.5, "clinic": 0.5}
    share = weight[member.kind] / sum(weight[i.kind] for i in neighbours)
    return pools.residents(member.division) * CLINIC_RATE / 12 * SEASON[month] * share


def _diagnosis(rng: random.Random, age: int, month: int) -> tuple[str, str]:
    boost = 1 + (RESPIRATORY_WINTER_BOOST - 1) * min(abs(month - 7), 5) / 5
    table = [d for d in DIAGNOSES if age >= d[3]]
    code, department, *_ = rng.choices(table, weights=[d[4] * (boost if d[2] else 1) for d in table])[0]
    return code, department


def _slot(rng: random.Random, *, days: int, hospital: bool) -> tuple[int, int, bool]:
    """(day of month from 0, minute of day, emergency): clinic hours are 8:00-17:00; a hospital's
    emergencies come at any hour."""
    day = rng.randrange(days)
    if hospital and rng.random() < EMERGENCY_SHARE:
        return day, rng.randrange(24 * 60), True
    return day, rng.randrange(8 * 60, 17 * 60), False


def plan_month(region: Region, pools: Pools, member: Institution, *, seed: int, year: int,
               month: int) -> list[Visit]:
    """The visits of ``member`` in ``year``-``month``, in time order (deterministic on its own)."""
    rng = random.Random(f"{seed}:visits:{member.code}:{year}-{month:02d}")
    count = max(0, round(rng.gauss(1.0, 0.04) * expected_visits(region, pools, member, month)))
    first = date(year, month, 1)
    days = ((first.replace(day=28) + timedelta(days=4)).replace(day=1) - first).days
    hospital = member.kind == "hospital"
    departments = {d.code: d for d in region.departments_of(member.code)}
    times = sorted(_slot(rng, days=days, hospital=hospital) for _ in range(count))
    visits = []
    for number, (day, minute, emergency) in enumerate(times, start=1):
        when = datetime(year, month, day + 1, minute // 60, minute % 60, tzinfo=CHINA)
        person = pools.draw(rng, member, day=when.date())
        age = person.age_at(when.date())
        diagnosis, specialty = _diagnosis(rng, age, month)
        if not hospital:
            department = "QK"
        elif emergency:
            department = "JZ"
        else:
            department = "EK" if age < 15 else specialty
        doctor = rng.choice(region.doctors_of(member.code, department))
        charges = tuple((category, rng.randint(low, high))
                        for category, (low, high) in CHARGES["hospital" if hospital else "community"].items()
                        if category == "drugs" or rng.random() < OTHER_CHARGE_SHARE)
        visits.append(Visit(f"{member.code}-SYN-OV-{year}{month:02d}-{number:05d}", member.code, person.id, when,
                            department, departments[department].standard_code, (doctor.code, doctor.name),
                            emergency, diagnosis, charges, typed(person, rng), f"MZ{member.code}{person.id[1:]}"))
    return visits


def months(*, year: int, count: int) -> list[tuple[int, int]]:
    return [(year, month) for month in range(1, count + 1)]


def member_months(region: Region, pools: Pools, *, seed: int, periods: list[tuple[int, int]]
                  ) -> Iterator[tuple[Institution, int, int, list[Visit]]]:
    """Every care-giving member × month with its planned visits: the iteration every kind of event shares."""
    for member in region.care_givers:
        for year, month in periods:
            yield member, year, month, plan_month(region, pools, member, seed=seed, year=year, month=month)


@lru_cache(maxsize=1)
def _template() -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / "OutpatientVisit.xml").read_bytes())


def render(visit: Visit, region: Region) -> etree._Element:
    """The canonical OutpatientVisit document of ``visit`` (a copy of the example with its fields)."""
    doc = copy.deepcopy(_template())
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", visit.record_id)
    header.find(f"{DOC}effectiveTime").set("value", (visit.time + timedelta(minutes=20)).isoformat())
    header.find(f"{DOC}author/{DOC}institution").attrib.update(
        {"code": visit.institution, "name": region.institution(visit.institution).name})
    header.find(f"{DOC}author/{DOC}practitioner").attrib.update(
        {"code": visit.practitioner[0], "name": visit.practitioner[1]})
    header.replace(header.find(f"{DOC}patient"), _patient(visit))
    body = doc.find(f"{DOC}body")
    body.find(f"{DOC}visitTime").set("value", visit.time.isoformat())
    department = body.find(f"{DOC}department")
    department.attrib.pop("displayName", None)
    department.set("code", visit.standard_department)
    body.find(f"{DOC}emergency").text = "true" if visit.emergency else "false"
    diagnoses = body.findall(f"{DOC}diagnosis")
    diagnoses[0].attrib.pop("displayName", None)
    diagnoses[0].set("code", visit.diagnosis)
    for extra in diagnoses[1:]:
        body.remove(extra)
    charges = body.find(f"{DOC}charges")
    for charge in list(charges):
        charges.remove(charge)
    for category, fen in visit.charges_fen:
        etree.SubElement(charges, f"{DOC}charge", category=category, amount=f"{fen // 100}.{fen % 100:02d}")
    return doc


def _patient(visit: Visit) -> etree._Element:
    return patient_element(visit.patient, number=visit.outpatient_no)


def patient_element(typed_: Typed, *, number: str, root: str = OUTPATIENT_ROOT) -> etree._Element:
    """The header's ``patient`` of a record as typed, with the member's own number for the person."""
    patient = etree.Element(f"{DOC}patient")
    if typed_.resident_id:
        etree.SubElement(patient, f"{DOC}id", root=RESIDENT_ROOT, extension=typed_.resident_id)
    etree.SubElement(patient, f"{DOC}id", root=root, extension=number)
    etree.SubElement(patient, f"{DOC}name").text = typed_.name
    if typed_.sex:
        etree.SubElement(patient, f"{DOC}sex", code=typed_.sex, codeSystem="GB/T 2261.1")
    etree.SubElement(patient, f"{DOC}birthDate", value=typed_.birth_date.isoformat())
    if typed_.phone:
        etree.SubElement(patient, f"{DOC}telecom", value=typed_.phone)
    if typed_.address:  # a record without the address keeps no division either (the element needs text)
        etree.SubElement(patient, f"{DOC}address", division=typed_.division).text = typed_.address
    return patient


def documents(region: Region, pools: Pools, *, seed: int, periods: list[tuple[int, int]]
              ) -> Iterator[tuple[Visit, etree._Element]]:
    """Each planned visit with its document, built one at a time, member by member and month by month."""
    for _, _, _, visits in member_months(region, pools, seed=seed, periods=periods):
        for visit in visits:
            yield visit, render(visit, region)


__all__ = ["Visit", "Pools", "expected_visits", "patient_element", "plan_month", "months", "member_months", "render", "documents"]
