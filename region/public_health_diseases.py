"""Infectious-disease reports (InfectiousDiseaseReport): influenza, hand-foot-mouth disease, infectious
diarrhoea and the one injected outbreak.

- **Influenza** (301, 丙类) follows the member-month's visits: each patient seen with J11 is reported
  (clinical diagnosis), and in the season a share of the respiratory visits (J06.9, J20, R05) test
  positive and are reported as confirmed cases (``FLU_POSITIVITY`` by month). Same member, same
  record of the patient, diagnosed on the visit's day by the visit's doctor.
- **Other infectious diarrhoea** (310) follows the A09 visits: one in twenty meets the case
  definition and is reported. It is the outbreak's baseline.
- **Hand-foot-mouth disease** (311) of children under 5, summer-heavy (``HFMD_SEASON``); the
  visits' table has no B08, so these reports stand alone: the hospitals' 儿科 report 50 % of the
  cases (from the whole city), each community centre a quarter of its district's.
- **The outbreak**: a norovirus cluster (310) in a school of one district, ``outbreak_plan``: its
  district, start and size come from ``(seed, "outbreak", year)`` alone, between 6 January and
  3 March (so the small region holds it too), about 0.35 % of the district's residents (12 at
  least), onsets over two weeks; reported by RH01 (40 %) or the case's own centre.

Each report is dated by its diagnosis day (the diseases cube's date) and planned in that member-month.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from .events import PLANNERS, MonthContext
from .model import Region
from .people import Person, Typed, typed
from .public_health import centre_of, centres, document, recode, residents
from .visits import CHINA, DOC, Pools, Visit, patient_element

# the hub's notifiable-disease codes reported here → their class (schemas/codes/notifiable-diseases.csv)
DISEASES = {"301": "C", "310": "C", "311": "C"}
# share of the respiratory visits tested positive for influenza (tested × positive), by month
FLU_POSITIVITY = {1: 0.04, 2: 0.03, 3: 0.012, 4: 0.005, 5: 0.002, 6: 0.002, 7: 0.002, 8: 0.002, 9: 0.002,
                  10: 0.004, 11: 0.01, 12: 0.025}
FLU_TESTED = ("J06.9", "J20", "R05")
DIARRHOEA_REPORTED = 0.05
HFMD_YEARLY = 0.05  # cases a year per child under 5
HFMD_SEASON = {1: 0.3, 2: 0.2, 3: 0.4, 4: 1.0, 5: 2.0, 6: 2.6, 7: 2.0, 8: 0.9, 9: 0.8, 10: 0.9, 11: 0.5, 12: 0.4}
HFMD_SHARES = {"RH01": 0.3, "RH02": 0.2, "community_center": 0.25}
OUTBREAK_DISEASE, OUTBREAK_DAYS, OUTBREAK_SHARE, OUTBREAK_MINIMUM = "310", 14, 0.0035, 12


@dataclass(frozen=True)
class DiseaseReport:
    record_id: str
    institution: str
    person_id: str
    disease: str
    classification: str       # case-classification: 2 clinical, 3 confirmed
    onset: date
    diagnosed: datetime
    practitioner: tuple[str, str]
    patient: Typed
    number: str               # the member's outpatient number of the person
    division: str             # current address (the true district)
    address: str
    outbreak: bool = False
    kind: ClassVar[str] = "InfectiousDiseaseReport"

    @property
    def month(self) -> str:
        return f"{self.diagnosed:%Y-%m}"

    def render(self, region: Region) -> etree._Element:
        doc = document(region, kind=self.kind, record_id=self.record_id,
                       effective=self.diagnosed + timedelta(hours=3), institution=self.institution,
                       practitioner=self.practitioner, patient=patient_element(self.patient, number=self.number))
        body = doc.find(f"{DOC}body")
        recode(body.find(f"{DOC}disease"), self.disease)
        body.find(f"{DOC}diseaseClass").set("code", DISEASES[self.disease])
        recode(body.find(f"{DOC}caseClassification"), self.classification)
        body.find(f"{DOC}onsetDate").set("value", self.onset.isoformat())
        body.find(f"{DOC}diagnosisDate").set("value", self.diagnosed.date().isoformat())
        address = body.find(f"{DOC}currentAddress")
        address.set("division", self.division)
        address.text = self.address
        body.find(f"{DOC}reportingDoctor").attrib.update({"code": self.practitioner[0], "name": self.practitioner[1]})
        return doc


@dataclass(frozen=True)
class OutbreakCase:
    person: Person
    onset: date
    diagnosed: date
    institution: str


@dataclass(frozen=True)
class Outbreak:
    disease: str
    division: str
    start: date
    cases: tuple[OutbreakCase, ...]


@lru_cache(maxsize=4)
def outbreak_plan(region: Region, pools: Pools, *, seed: int, year: int) -> Outbreak:
    """The year's one outbreak (deterministic from the seed): a school's norovirus cluster."""
    rng = random.Random(f"{seed}:outbreak:{year}")
    division = rng.choice([code for code, _ in region.districts])
    start = date(year, 1, 6) + timedelta(days=rng.randrange(57))
    people = residents(pools, division)
    size = max(OUTBREAK_MINIMUM, round(len(people) * OUTBREAK_SHARE))
    pupils = [p for p in people if 5 <= p.age_at(start) <= 14]
    adults = [p for p in people if 25 <= p.age_at(start) <= 55]
    staff = min(len(adults), size // 6)
    chosen = rng.sample(pupils, min(len(pupils), size - staff)) + rng.sample(adults, staff)
    options = centres(region, division)
    cases = []
    for person in sorted(chosen, key=lambda p: p.id):
        onset = start + timedelta(days=min(OUTBREAK_DAYS - 1, int(rng.triangular(0, OUTBREAK_DAYS, 3))))
        cases.append(OutbreakCase(person, onset, onset + timedelta(days=rng.choice((0, 1, 1, 2))),
                                  "RH01" if rng.random() < 0.4 else centre_of(person, options).code))
    return Outbreak(OUTBREAK_DISEASE, division, start, tuple(cases))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


@lru_cache(maxsize=8)
def _toddlers(pools: Pools, division: str | None, year: int) -> tuple[Person, ...]:
    """Residents (of ``division``, or all) born in the six years up to ``year``'s end."""
    people = pools.people if division is None else residents(pools, division)
    return tuple(p for p in people if p.birth_date.year >= year - 5)


def _person(pools: Pools, person_id: str) -> Person:
    return pools.people[int(person_id[1:]) - 1]  # ids are P + the position in the list, from 1


def _at(rng: random.Random, day: date, *, first: int = 8, last: int = 17) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=CHINA) + timedelta(minutes=rng.randrange(first * 60,
                                                                                                      last * 60))


# a case found: (diagnosed, disease, case classification, person, typed record, member's number, doctor, onset,
# outbreak)
def _from_visits(ctx: MonthContext, rng: random.Random) -> list[tuple]:
    found, seen = [], set()
    for visit in ctx.planned:
        if not isinstance(visit, Visit):
            continue
        if visit.diagnosis == "J11":
            disease, classification = "301", "2"
        elif visit.diagnosis in FLU_TESTED and rng.random() < FLU_POSITIVITY[ctx.month]:
            disease, classification = "301", "3"
        elif visit.diagnosis == "A09" and rng.random() < DIARRHOEA_REPORTED:
            disease, classification = "310", "2"
        else:
            continue
        if (visit.person_id, disease) in seen:  # a case is reported once, not at each follow-up visit
            continue
        seen.add((visit.person_id, disease))
        found.append((visit.time, disease, classification, _person(ctx.pools, visit.person_id), visit.patient,
                      visit.outpatient_no, visit.practitioner, visit.time.date() - timedelta(days=rng.randrange(4)),
                      False))
    return found


def _hfmd(ctx: MonthContext, rng: random.Random) -> list[tuple]:
    member = ctx.member
    share = HFMD_SHARES.get(member.code, HFMD_SHARES.get(member.kind, 0.0))
    if not share:
        return []
    pool = _toddlers(ctx.pools, None if member.kind == "hospital" else member.division, ctx.year)
    if not pool:
        return []
    first = date(ctx.year, ctx.month, 1)
    days = ((first + timedelta(days=31)).replace(day=1) - first).days
    doctors = ctx.region.doctors_of(member.code, "EK" if member.kind == "hospital" else "QK")
    found = []
    for _ in range(_poisson(rng, len(pool) * 5 / 6 * HFMD_YEARLY * HFMD_SEASON[ctx.month] / 12 * share)):
        day = first + timedelta(days=rng.randrange(days))
        under_5 = [p for p in (rng.choice(pool) for _ in range(20)) if 0 < (day - p.birth_date).days < 5 * 365]
        if under_5:
            child, doctor = under_5[0], rng.choice(doctors)
            found.append((_at(rng, day), "311", rng.choice("223"), child, typed(child, rng),
                          f"MZ{member.code}{child.id[1:]}", (doctor.code, doctor.name),
                          day - timedelta(days=rng.randrange(1, 4)), False))
    return found


def _injected(ctx: MonthContext, rng: random.Random) -> list[tuple]:
    outbreak = outbreak_plan(ctx.region, ctx.pools, seed=ctx.seed, year=ctx.year)
    doctors = ctx.region.doctors_of(ctx.member.code, "XH" if ctx.member.kind == "hospital" else "QK")
    found = []
    for index, case in enumerate(outbreak.cases):
        if case.institution == ctx.member.code and (case.diagnosed.year, case.diagnosed.month) == (ctx.year,
                                                                                                    ctx.month):
            doctor = rng.choice(doctors)
            found.append((_at(rng, case.diagnosed, last=20), outbreak.disease, "3" if index % 3 == 0 else "2",
                          case.person, typed(case.person, rng), f"MZ{ctx.member.code}{case.person.id[1:]}",
                          (doctor.code, doctor.name), case.onset, True))
    return found


def plan_disease_reports(ctx: MonthContext) -> list[DiseaseReport]:
    """The notifiable-disease reports ``ctx.member`` sends for the month's diagnoses, in time order."""
    if not ctx.member.sees_patients:
        return []
    rng = random.Random(f"{ctx.seed}:disease-report:{ctx.member.code}:{ctx.year}-{ctx.month:02d}")
    found = [*_from_visits(ctx, rng), *_hfmd(ctx, rng), *_injected(ctx, rng)]
    found.sort(key=lambda f: (f[0], f[3].id, f[1]))
    return [DiseaseReport(f"{ctx.member.code}-SYN-ID-{ctx.year}{ctx.month:02d}-{number:05d}", ctx.member.code,
                          person.id, disease, classification, onset, at, doctor, typed_, record_no, person.division,
                          person.address, injected)
            for number, (at, disease, classification, person, typed_, record_no, doctor, onset, injected)
            in enumerate(found, start=1)]


PLANNERS.append(plan_disease_reports)

__all__ = ["DiseaseReport", "Outbreak", "OutbreakCase", "outbreak_plan", "plan_disease_reports", "DISEASES",
           "FLU_POSITIVITY", "HFMD_SEASON"]
