"""Maternal checkups (MaternalCheckup) at the community centres: antenatal through pregnancy, postnatal after.

The pregnancies of a district are the births its residents had: every baby born from October of the
year before to the end of the year has a mother (a woman of 18-48 of its household; otherwise a
woman of 20-40 of the district), and about three quarters as many women of 20-40 are pregnant at
the year's end and deliver by next September. Each pregnancy has its last menstrual period, a
delivery at 37-41 weeks, a pre-pregnancy weight and a high-risk flag (35 and over, or one in ten).
The cohort of a district is drawn once from ``(seed, "maternal", district, year)``: the same for
every member-month that asks. A woman is checked at her centre (by household) at about
``ANTENATAL_WEEKS`` and 7 and 42 days after delivery, 90 % of the time; each centre-month plans the
checkups that fall in it from its own stream.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from .events import PLANNERS, MonthContext
from .model import Region
from .people import Person, Typed, typed
from .public_health import (
    HEALTH_RECORD_ROOT, at_clinic_hours, centre_of, centres, document, health_record, residents, taken_on,
)
from .visits import DOC, Pools, patient_element

ANTENATAL_WEEKS = (11, 16, 20, 24, 28, 32, 36, 38)
POSTNATAL_DAYS = (7, 42)
CHECKUP_TAKEN = 0.90
NEXT_YEAR_SHARE = 0.75  # women pregnant at the year's end, per baby born in the year


@dataclass(frozen=True)
class Pregnancy:
    mother: Person
    last_period: date
    delivery: date
    weight_kg: float   # before the pregnancy
    high_risk: bool


@lru_cache(maxsize=8)
def pregnancies(pools: Pools, *, seed: int, division: str, year: int) -> tuple[Pregnancy, ...]:
    """The district's pregnancies that touch ``year`` (see the module's note), in mother-id order."""
    rng = random.Random(f"{seed}:maternal:{division}:{year}")
    people = residents(pools, division)
    households: dict[int, list[Person]] = {}
    for person in people:
        households.setdefault(person.household, []).append(person)
    end = date(year, 12, 31)
    women = [p for p in people if p.sex == "2" and 20 <= p.age_at(end) <= 40]
    babies = [p for p in people if date(year - 1, 10, 1) <= p.birth_date <= end]
    deliveries: list[tuple[Person, date]] = []
    for baby in babies:
        mothers = [p for p in households[baby.household]
                   if p.sex == "2" and 18 <= p.age_at(baby.birth_date) <= 48]
        if mothers or women:
            deliveries.append((mothers[0] if mothers else rng.choice(women), baby.birth_date))
    mothers = {mother.id for mother, _ in deliveries}
    available = [w for w in women if w.id not in mothers]
    this_year = sum(1 for baby in babies if baby.birth_date.year == year)
    for mother in rng.sample(available, min(len(available), round(this_year * NEXT_YEAR_SHARE))):
        deliveries.append((mother, date(year + 1, 1, 1) + timedelta(days=rng.randrange(273))))
    cohort: list[Pregnancy] = []
    for mother, delivery in sorted(deliveries, key=lambda d: (d[0].id, d[1])):
        if cohort and cohort[-1].mother == mother and (delivery - cohort[-1].delivery).days < 300:
            continue  # twins, or a household's two babies given one mother: one pregnancy
        gestation = rng.randint(37 * 7, 41 * 7 + 6)
        age = mother.age_at(delivery)
        cohort.append(Pregnancy(mother, delivery - timedelta(days=gestation), delivery,
                                round(rng.uniform(46, 68), 1), age >= 35 or rng.random() < 0.1))
    return tuple(cohort)


@dataclass(frozen=True)
class MaternalCheckup:
    record_id: str
    institution: str
    person_id: str
    at: datetime
    antenatal: bool
    weeks: int | None          # gestational weeks (antenatal only)
    weight_kg: str
    pressure: tuple[int, int]
    high_risk: bool
    fetal_heart: int | None
    practitioner: tuple[str, str]
    patient: Typed
    health_record_no: str
    kind: ClassVar[str] = "MaternalCheckup"

    @property
    def month(self) -> str:
        return f"{self.at:%Y-%m}"

    def render(self, region: Region) -> etree._Element:
        doc = document(region, kind=self.kind, record_id=self.record_id, effective=self.at + timedelta(minutes=30),
                       institution=self.institution, practitioner=self.practitioner,
                       patient=patient_element(self.patient, number=self.health_record_no, root=HEALTH_RECORD_ROOT))
        body = doc.find(f"{DOC}body")
        body.find(f"{DOC}checkupType").set("code", "antenatal" if self.antenatal else "postnatal")
        body.find(f"{DOC}checkupDate").set("value", self.at.date().isoformat())
        body.find(f"{DOC}weightKg").text = self.weight_kg
        body.find(f"{DOC}bloodPressure").attrib.update(
            {"systolic": str(self.pressure[0]), "diastolic": str(self.pressure[1])})
        body.find(f"{DOC}highRisk").text = "true" if self.high_risk else "false"
        values = {"gestationalWeeks": self.weeks,
                  "fundalHeightCm": self.weeks - 2 if self.weeks is not None and self.weeks >= 20 else None,
                  "fetalHeartRate": self.fetal_heart}
        for name, value in values.items():
            element = body.find(f"{DOC}{name}")
            if value is None:
                body.remove(element)
            else:
                element.text = str(value)
        body.remove(body.find(f"{DOC}note"))
        return doc


def _due(pregnancy: Pregnancy) -> list[tuple[date, bool]]:
    """(day due, antenatal) of each checkup of ``pregnancy``."""
    antenatal = [(pregnancy.last_period + timedelta(weeks=w), True) for w in ANTENATAL_WEEKS]
    return ([(day, True) for day, _ in antenatal if day < pregnancy.delivery]
            + [(pregnancy.delivery + timedelta(days=d), False) for d in POSTNATAL_DAYS])


def plan_maternal_checkups(ctx: MonthContext) -> list[MaternalCheckup]:
    """The maternal checkups at ``ctx.member`` (a community centre) in the month, in time order."""
    if ctx.member.kind != "community_center":
        return []
    rng = random.Random(f"{ctx.seed}:maternal:{ctx.member.code}:{ctx.year}-{ctx.month:02d}")
    options = centres(ctx.region, ctx.member.division)
    drafts = []
    for pregnancy in pregnancies(ctx.pools, seed=ctx.seed, division=ctx.member.division, year=ctx.year):
        if centre_of(pregnancy.mother, options) != ctx.member:
            continue
        for due, antenatal in _due(pregnancy):
            day = taken_on(rng, due, year=ctx.year, month=ctx.month)
            if day is not None and (not antenatal or day < pregnancy.delivery) and rng.random() < CHECKUP_TAKEN:
                drafts.append((at_clinic_hours(rng, day), pregnancy, antenatal))
    drafts.sort(key=lambda d: (d[0], d[1].mother.id))
    doctors = ctx.region.doctors_of(ctx.member.code, "YF")
    events = []
    for number, (at, pregnancy, antenatal) in enumerate(drafts, start=1):
        weeks = (at.date() - pregnancy.last_period).days // 7 if antenatal else None
        gain = 0.45 * max(0, weeks - 13) if antenatal else 8.0
        systolic = rng.randint(100, 128) + (12 if pregnancy.high_risk and rng.random() < 0.4 else 0)
        doctor = rng.choice(doctors)
        events.append(MaternalCheckup(
            f"{ctx.member.code}-SYN-MC-{ctx.year}{ctx.month:02d}-{number:05d}", ctx.member.code,
            pregnancy.mother.id, at, antenatal, weeks, f"{pregnancy.weight_kg + gain + rng.gauss(0, 0.8):.1f}",
            (systolic, rng.randint(62, 84)), pregnancy.high_risk,
            rng.randint(120, 160) if antenatal and weeks >= 12 else None, (doctor.code, doctor.name),
            typed(pregnancy.mother, rng), health_record(pregnancy.mother)))
    return events


PLANNERS.append(plan_maternal_checkups)

__all__ = ["Pregnancy", "MaternalCheckup", "pregnancies", "plan_maternal_checkups", "ANTENATAL_WEEKS",
           "POSTNATAL_DAYS"]
