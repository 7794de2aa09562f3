"""Immunizations and child health checkups of the community centres (预防保健科, 儿童保健科).

Each child of a district belongs to one of its two centres (by household) and is vaccinated there
on the national programme's schedule (``SCHEDULE``: the doses after the birth doses, which the
maternity gives) and checked at the ages of the 0-6 years' health management (``CHECKUP_AGES``).
A dose or checkup falls due when the child reaches its age; the centre's month plans what falls
due in it (about 97 % of the doses, 90 % of the checkups are taken, within ten days and that month),
from the stream ``(seed, kind, member, month)`` alone. The helpers here (``document``,
``residents``, ``centre_of``) serve the maternal checkups and the disease reports too.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR

from .events import PLANNERS, MonthContext
from .model import Institution, Region
from .people import Person, Typed, typed
from .visits import CHINA, DOC, Pools, patient_element

HEALTH_RECORD_ROOT = "2.16.156.10011.1.2"  # 城乡居民健康档案编号
# age in months → the national programme's doses due (vaccine code of schemas/codes/vaccines.csv, dose)
SCHEDULE = {1: (("HepB", 2),), 2: (("IPV", 1),), 3: (("IPV", 2), ("DTaP", 1)), 4: (("bOPV", 1), ("DTaP", 2)),
            5: (("DTaP", 3),), 6: (("HepB", 3), ("MPSV-A", 1)), 8: (("MMR", 1), ("JE-L", 1)), 9: (("MPSV-A", 2),),
            18: (("DTaP", 4), ("MMR", 2), ("HepA-L", 1)), 24: (("JE-L", 2),), 36: (("MPSV-AC", 1),),
            48: (("bOPV", 2),), 72: (("DT", 1), ("MPSV-AC", 2))}
MANUFACTURERS = ("合成生物制品有限公司", "合成疫苗股份有限公司")
DOSE_TAKEN, CHECKUP_TAKEN = 0.97, 0.90
CHECKUP_AGES = (1, 3, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72)
# age in months → WHO medians of boys (weight kg, height cm, head circumference cm); girls about 4 % less
GROWTH = {1: (4.5, 54.7, 37.3), 3: (6.4, 61.4, 40.5), 6: (7.9, 67.6, 43.3), 8: (8.6, 70.6, 44.5),
          12: (9.6, 75.7, 46.1), 18: (10.9, 82.3, 47.4), 24: (12.2, 87.1, 48.3), 30: (13.3, 91.9, 49.0),
          36: (14.3, 96.1, 49.5), 48: (16.3, 103.3, 50.3), 60: (18.3, 110.0, 50.8), 72: (20.5, 116.0, 51.2)}
DELAY_DAYS = 10  # a due dose or checkup is taken within this many days, in its month


# ----- shared by the public-health kinds -----

@lru_cache(maxsize=None)
def template(kind: str) -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / f"{kind}.xml").read_bytes())


def document(region: Region, *, kind: str, record_id: str, effective: datetime, institution: str,
             practitioner: tuple[str, str] | None, patient: etree._Element | None) -> etree._Element:
    """A copy of the example ``kind`` with its header filled; the caller fills the body."""
    doc = copy.deepcopy(template(kind))
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", record_id)
    header.find(f"{DOC}effectiveTime").set("value", effective.isoformat())
    header.find(f"{DOC}author/{DOC}institution").attrib.update(
        {"code": institution, "name": region.institution(institution).name})
    if practitioner is not None:
        header.find(f"{DOC}author/{DOC}practitioner").attrib.update({"code": practitioner[0], "name": practitioner[1]})
    if patient is not None:
        header.replace(header.find(f"{DOC}patient"), patient)
    return doc


def recode(element: etree._Element, code: str) -> None:
    """Give a coded element of the template another code (its display name belonged to the old one)."""
    element.attrib.pop("displayName", None)
    element.set("code", code)


def health_record(person: Person) -> str:
    """The person's 健康档案编号: the district's, the same at both of its centres."""
    return f"{person.division}{person.id[1:]}"


@lru_cache(maxsize=8)
def residents(pools: Pools, division: str) -> tuple[Person, ...]:
    return tuple(p for p in pools.people if p.division == division)


def centres(region: Region, division: str) -> tuple[Institution, ...]:
    return tuple(i for i in region.care_givers if i.kind == "community_center" and i.division == division)


def centre_of(person: Person, options: tuple[Institution, ...]) -> Institution:
    """Which of its district's centres (``centres``) a person's public-health care belongs to: by household."""
    return options[person.household % len(options)]


def add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = ((date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def taken_on(rng: random.Random, due: date, *, year: int, month: int) -> date | None:
    """The day a service due on ``due`` is taken, if ``due`` falls in ``year``-``month`` (within
    ``DELAY_DAYS``, never after the month's end)."""
    if (due.year, due.month) != (year, month):
        return None
    last = add_months(date(year, month, 1), 1) - timedelta(days=1)
    return min(last, due + timedelta(days=rng.randrange(DELAY_DAYS + 1)))


def at_clinic_hours(rng: random.Random, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA) + timedelta(minutes=rng.randrange(8 * 60, 16 * 60))


def _month_of_life(born: date, year: int, month: int) -> int:
    """The age in months that falls due in ``year``-``month`` (the birthday's day of that month)."""
    return (year - born.year) * 12 + month - born.month


def _months_old(born: date, day: date) -> int:
    return (day.year - born.year) * 12 + day.month - born.month - (day.day < born.day)


@lru_cache(maxsize=8)
def _young(pools: Pools, division: str, year: int) -> tuple[Person, ...]:
    """The district's residents born in the eight years up to ``year``'s end."""
    return tuple(p for p in residents(pools, division) if p.birth_date.year >= year - 7)


def _children(ctx: MonthContext) -> list[Person]:
    """The children under 7 whose centre is ``ctx.member``, in id order."""
    first = date(ctx.year, ctx.month, 1)
    options = centres(ctx.region, ctx.member.division)
    return [p for p in _young(ctx.pools, ctx.member.division, ctx.year)
            if _months_old(p.birth_date, first) < 84 and centre_of(p, options) == ctx.member]


# ----- immunizations -----

@dataclass(frozen=True)
class Immunization:
    record_id: str
    institution: str
    person_id: str
    given: datetime
    vaccine: str
    dose: int
    batch: str
    manufacturer: str
    site: str
    practitioner: tuple[str, str]
    patient: Typed
    health_record_no: str
    kind: ClassVar[str] = "Immunization"

    @property
    def month(self) -> str:
        return f"{self.given:%Y-%m}"

    def render(self, region: Region) -> etree._Element:
        doc = document(region, kind=self.kind, record_id=self.record_id, effective=self.given + timedelta(minutes=15),
                       institution=self.institution, practitioner=self.practitioner,
                       patient=patient_element(self.patient, number=self.health_record_no, root=HEALTH_RECORD_ROOT))
        body = doc.find(f"{DOC}body")
        recode(body.find(f"{DOC}vaccine"), self.vaccine)
        body.find(f"{DOC}doseNumber").text = str(self.dose)
        body.find(f"{DOC}administeredOn").set("value", self.given.date().isoformat())
        body.find(f"{DOC}batchNumber").text = self.batch
        body.find(f"{DOC}manufacturer").text = self.manufacturer
        recode(body.find(f"{DOC}site"), self.site)
        return doc


def _site(vaccine: str, dose: int) -> str:
    if vaccine == "bOPV":
        return "5"  # oral
    return "3" if vaccine in ("DTaP", "IPV") and dose <= 2 else ("1" if dose % 2 else "2")


def plan_immunizations(ctx: MonthContext) -> list[Immunization]:
    """The doses ``ctx.member`` (a community centre) gives in the month, in time order."""
    if ctx.member.kind != "community_center":
        return []
    rng = random.Random(f"{ctx.seed}:immunization:{ctx.member.code}:{ctx.year}-{ctx.month:02d}")
    nurses = ctx.region.doctors_of(ctx.member.code, "YF")
    drafts = []
    for child in _children(ctx):
        age = _month_of_life(child.birth_date, ctx.year, ctx.month)  # doses of this age fall due this month
        if age in SCHEDULE:
            day = taken_on(rng, add_months(child.birth_date, age), year=ctx.year, month=ctx.month)
            for vaccine, dose in SCHEDULE[age]:
                if rng.random() < DOSE_TAKEN:
                    drafts.append((at_clinic_hours(rng, day), child, vaccine, dose))
    drafts.sort(key=lambda d: (d[0], d[1].id, d[2]))
    events = []
    for number, (given, child, vaccine, dose) in enumerate(drafts, start=1):
        nurse = rng.choice(nurses)
        events.append(Immunization(
            f"{ctx.member.code}-SYN-IM-{ctx.year}{ctx.month:02d}-{number:05d}", ctx.member.code, child.id, given,
            vaccine, dose, f"{vaccine.replace('-', '')}{ctx.year}{rng.randrange(1, 13):02d}B{rng.randrange(1, 40):03d}",
            rng.choice(MANUFACTURERS), _site(vaccine, dose), (nurse.code, nurse.name), typed(child, rng),
            health_record(child)))
    return events


# ----- child health checkups -----

@dataclass(frozen=True)
class ChildCheckup:
    record_id: str
    institution: str
    person_id: str
    at: datetime
    age_months: int
    weight_kg: str
    height_cm: str
    head_cm: str | None
    development: str
    practitioner: tuple[str, str]
    patient: Typed
    health_record_no: str
    kind: ClassVar[str] = "ChildHealthCheckup"

    @property
    def month(self) -> str:
        return f"{self.at:%Y-%m}"

    def render(self, region: Region) -> etree._Element:
        doc = document(region, kind=self.kind, record_id=self.record_id, effective=self.at + timedelta(minutes=30),
                       institution=self.institution, practitioner=self.practitioner,
                       patient=patient_element(self.patient, number=self.health_record_no, root=HEALTH_RECORD_ROOT))
        body = doc.find(f"{DOC}body")
        body.find(f"{DOC}checkupDate").set("value", self.at.date().isoformat())
        body.find(f"{DOC}ageMonths").text = str(self.age_months)
        body.find(f"{DOC}weightKg").text = self.weight_kg
        body.find(f"{DOC}heightCm").text = self.height_cm
        head = body.find(f"{DOC}headCircumferenceCm")
        if self.head_cm is None:
            body.remove(head)
        else:
            head.text = self.head_cm
        recode(body.find(f"{DOC}developmentAssessment"), self.development)
        body.remove(body.find(f"{DOC}note"))
        return doc


def plan_child_checkups(ctx: MonthContext) -> list[ChildCheckup]:
    """The checkups of children under 7 at ``ctx.member`` (a community centre) in the month."""
    if ctx.member.kind != "community_center":
        return []
    rng = random.Random(f"{ctx.seed}:child-checkup:{ctx.member.code}:{ctx.year}-{ctx.month:02d}")
    doctors = ctx.region.doctors_of(ctx.member.code, "EB")
    drafts = []
    for child in _children(ctx):
        age = _month_of_life(child.birth_date, ctx.year, ctx.month)
        if age in CHECKUP_AGES and rng.random() < CHECKUP_TAKEN:
            day = taken_on(rng, add_months(child.birth_date, age), year=ctx.year, month=ctx.month)
            drafts.append((at_clinic_hours(rng, day), child, age))
    drafts.sort(key=lambda d: (d[0], d[1].id))
    events = []
    for number, (at, child, age) in enumerate(drafts, start=1):
        weight, height, head = GROWTH[age]
        girl = 0.96 if child.sex == "2" else 1.0
        doctor = rng.choice(doctors)
        events.append(ChildCheckup(
            f"{ctx.member.code}-SYN-CH-{ctx.year}{ctx.month:02d}-{number:05d}", ctx.member.code, child.id, at,
            _months_old(child.birth_date, at.date()), f"{weight * girl * rng.gauss(1, 0.08):.1f}",
            f"{height * girl * rng.gauss(1, 0.03):.1f}",
            f"{head * girl * rng.gauss(1, 0.02):.1f}" if age <= 36 else None,
            rng.choices("123", weights=(94, 5, 1))[0], (doctor.code, doctor.name), typed(child, rng),
            health_record(child)))
    return events


PLANNERS.extend((plan_immunizations, plan_child_checkups))

__all__ = ["Immunization", "ChildCheckup", "SCHEDULE", "CHECKUP_AGES", "plan_immunizations", "plan_child_checkups",
           "document", "recode", "residents", "centres", "centre_of", "health_record", "add_months", "taken_on",
           "at_clinic_hours", "HEALTH_RECORD_ROOT"]
