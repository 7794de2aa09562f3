"""Inpatient stays at the hospital with wards (RH01), rendered as InpatientStay documents.

About one admission per 25 outpatient visits of the hospital's month (the planned mean, so winter
is busier), a diagnosis of a small adult / child table (pneumonia and COPD heavier in winter), a
length of stay by diagnosis (3-15 days), charges per bed-day. A stay is sent when it ends: the
member-month of its discharge plans it, re-planning the admissions of the month before (each month's
admissions come from the stream ``(seed, "stays", member, admission month)`` alone), so a stay
admitted on 28 January and discharged on 4 February is a February document. The cubes count
admissions by admission date and discharges, bed-days and charges by discharge date
(olap/cubes/hospital.py ADMISSIONS, DISCHARGES): ``StayTruth`` keeps both.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR

from .events import PLANNERS, TRUTHS, MonthContext
from .model import Region
from .people import Typed, typed
from .visits import CHINA, DOC, Pools, expected_visits, patient_element

INPATIENT_ROOT = "2.16.156.10011.1.12"
VISITS_PER_ADMISSION = 25
# ICD-10, department (adults; children under 15 go to 儿科 EK), length of stay (min, mode, max),
# ages (from, to), sex ("" either), weight, winter-heavy
DIAGNOSES = (
    ("J18", "HX", (5, 8, 14), (0, 120), "", 14, True), ("J44", "HX", (7, 10, 15), (50, 120), "", 8, True),
    ("C34", "HX", (8, 12, 15), (45, 120), "", 3, False), ("I21", "XN", (6, 9, 14), (45, 120), "", 4, False),
    ("I50", "XN", (7, 10, 15), (60, 120), "", 6, True), ("I20", "XN", (3, 6, 10), (45, 120), "", 6, False),
    ("E11", "NF", (6, 9, 13), (30, 120), "", 6, False), ("K29", "XH", (4, 6, 9), (18, 120), "", 4, False),
    ("K81", "XH", (4, 7, 10), (25, 120), "", 4, False), ("S52", "GK", (3, 6, 10), (5, 120), "", 3, False),
    ("M17", "GK", (8, 12, 15), (55, 120), "", 3, False), ("D25", "FK", (4, 6, 9), (30, 55), "2", 3, False),
    ("A09", "EK", (3, 4, 7), (0, 14), "", 4, False), ("J45", "EK", (3, 5, 8), (3, 14), "", 2, True),
)
# per bed-day, in fen: (category, low, high); "examinations" also once on admission
DAILY_CHARGES = (("drugs", 25000, 90000), ("treatment", 8000, 35000), ("other", 6000, 15000))
ADMISSION_EXAMINATIONS = (60000, 300000)
OUTCOMES = (("1", 90), ("3", 5), ("2", 2), ("4", 2), ("5", 1))  # 离院方式 and their shares (%)


def yuan(fen: int) -> str:
    """An amount in fen as the documents write yuan (2 places)."""
    return f"{fen // 100}.{fen % 100:02d}"


def ratio(numerator: int, denominator: int, factor: str) -> str:
    """numerator / denominator × factor to 2 places, halves up, as region/truth.py writes indicators."""
    value = Decimal(numerator) * Decimal(factor) / Decimal(denominator)
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Stay:
    """One inpatient stay: everything its document says, and the true person."""

    record_id: str
    institution: str
    person_id: str
    admitted: datetime
    discharged: datetime
    department: str          # the registry department code
    standard_department: str
    ward: str
    practitioner: tuple[str, str]
    diagnosis: str
    outcome: str
    charges_fen: tuple[tuple[str, int], ...]
    patient: Typed
    inpatient_no: str
    kind: ClassVar[str] = "InpatientStay"

    @property
    def month(self) -> str:
        """The month the document is sent in: the discharge's."""
        return f"{self.discharged:%Y-%m}"

    @property
    def admission_month(self) -> str:
        return f"{self.admitted:%Y-%m}"

    @property
    def bed_days(self) -> int:
        """实际占用床日: the nights spent (discharge day not counted), at least one."""
        return max(1, (self.discharged.date() - self.admitted.date()).days)

    @property
    def total_fen(self) -> int:
        return sum(fen for _, fen in self.charges_fen)

    def render(self, region: Region) -> etree._Element:
        return render(self, region)


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _days(year: int, month: int) -> int:
    return ((date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day


def _admissions(region: Region, pools: Pools, member, *, seed: int, year: int, month: int) -> list[dict]:
    """The stays admitted at ``member`` in ``year``-``month`` (drafts without a document id), from the
    month's own stream: the same whichever month asks."""
    rng = random.Random(f"{seed}:stays:{member.code}:{year}-{month:02d}")
    count = max(0, round(rng.gauss(1.0, 0.06) * expected_visits(region, pools, member, month)
                         / VISITS_PER_ADMISSION))
    boost = 1 + 1.5 * min(abs(month - 7), 5) / 5  # as the visits' respiratory winter weight
    departments = {d.code: d for d in region.departments_of(member.code)}
    drafts = []
    for _ in range(count):
        admitted = datetime(year, month, rng.randrange(_days(year, month)) + 1, tzinfo=CHINA) + timedelta(
            minutes=rng.randrange(24 * 60))
        person = pools.draw(rng, member, day=admitted.date())
        age = person.age_at(admitted.date())
        table = [d for d in DIAGNOSES if d[3][0] <= age <= d[3][1] and d[4] in ("", person.sex)] or DIAGNOSES[:1]
        code, specialty, (low, mode, high), _, _, _, _ = rng.choices(
            table, weights=[d[5] * (boost if d[6] else 1) for d in table])[0]
        department = "EK" if age < 15 else specialty
        nights = round(rng.triangular(low, high, mode))
        discharged = datetime.combine(admitted.date() + timedelta(days=nights), datetime.min.time(),
                                      tzinfo=CHINA) + timedelta(minutes=rng.randrange(9 * 60, 16 * 60))
        outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w * (4 if o == "5" and age >= 75 else 1)
                                                                 for o, w in OUTCOMES])[0]
        daily = {category: sum(rng.randint(low_fen, high_fen) for _ in range(nights))
                 for category, low_fen, high_fen in DAILY_CHARGES}
        charges = (("drugs", daily["drugs"]), ("examinations", rng.randint(*ADMISSION_EXAMINATIONS)),
                   ("treatment", daily["treatment"]), ("other", daily["other"]))
        doctor = rng.choice(region.doctors_of(member.code, department))
        drafts.append({"person_id": person.id, "admitted": admitted, "discharged": discharged,
                       "department": department, "standard_department": departments[department].standard_code,
                       "ward": f"{departments[department].name}病区", "practitioner": (doctor.code, doctor.name),
                       "diagnosis": code, "outcome": outcome, "charges_fen": charges,
                       "patient": typed(person, rng), "inpatient_no": f"ZY{member.code}{person.id[1:]}"})
    return drafts


def plan_stays(ctx: MonthContext) -> list[Stay]:
    """The stays ``ctx.member`` discharges in ``ctx``'s month (admitted then or the month before)."""
    if not ctx.member.inpatient:
        return []
    wanted = f"{ctx.year}-{ctx.month:02d}"
    drafts = []
    for year, month in (_previous(ctx.year, ctx.month), (ctx.year, ctx.month)):
        drafts += [d for d in _admissions(ctx.region, ctx.pools, ctx.member, seed=ctx.seed, year=year, month=month)
                   if f"{d['discharged']:%Y-%m}" == wanted]
    drafts.sort(key=lambda d: (d["discharged"], d["admitted"], d["person_id"]))
    return [Stay(f"{ctx.member.code}-SYN-IP-{ctx.year}{ctx.month:02d}-{number:05d}", ctx.member.code, **draft)
            for number, draft in enumerate(drafts, start=1)]


@lru_cache(maxsize=1)
def _template() -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / "InpatientStay.xml").read_bytes())


def render(stay: Stay, region: Region) -> etree._Element:
    """The canonical InpatientStay document of ``stay``."""
    doc = copy.deepcopy(_template())
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", stay.record_id)
    header.find(f"{DOC}effectiveTime").set("value", (stay.discharged + timedelta(hours=2)).isoformat())
    header.find(f"{DOC}author/{DOC}institution").attrib.update(
        {"code": stay.institution, "name": region.institution(stay.institution).name})
    header.find(f"{DOC}author/{DOC}practitioner").attrib.update(
        {"code": stay.practitioner[0], "name": stay.practitioner[1]})
    header.replace(header.find(f"{DOC}patient"),
                   patient_element(stay.patient, number=stay.inpatient_no, root=INPATIENT_ROOT))
    body = doc.find(f"{DOC}body")
    body.find(f"{DOC}admissionTime").set("value", stay.admitted.isoformat())
    body.find(f"{DOC}dischargeTime").set("value", stay.discharged.isoformat())
    for name, code in (("department", stay.standard_department), ("dischargeOutcome", stay.outcome)):
        element = body.find(f"{DOC}{name}")
        element.attrib.pop("displayName", None)
        element.set("code", code)
    body.find(f"{DOC}ward").text = stay.ward
    body.find(f"{DOC}bedDays").text = str(stay.bed_days)
    diagnoses = body.findall(f"{DOC}diagnosis")
    diagnoses[0].attrib.pop("displayName", None)
    diagnoses[0].set("code", stay.diagnosis)
    for extra in (*diagnoses[1:], *body.findall(f"{DOC}procedure")):
        body.remove(extra)
    charges = body.find(f"{DOC}charges")
    for charge in list(charges):
        charges.remove(charge)
    for category, fen in stay.charges_fen:
        etree.SubElement(charges, f"{DOC}charge", category=category, amount=yuan(fen))
    return doc


STAY_COLUMNS = ("institution", "month", "admissions", "discharges", "bed_days", "total_fen", "charges",
                "average_length_of_stay", "charge_per_bed_day")


@dataclass
class StayTruth:
    """Per institution × month: admissions (by admission month) and the discharged stays' count,
    bed-days and charges (by discharge month), as the admissions and discharges cubes give them."""

    cells: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, event) -> None:
        if event.kind != Stay.kind:
            return
        self.cells.setdefault((event.institution, event.admission_month), [0, 0, 0, 0])[0] += 1
        cell = self.cells.setdefault((event.institution, event.month), [0, 0, 0, 0])
        cell[1] += 1
        cell[2] += event.bed_days
        cell[3] += event.total_fen

    def files(self):
        rows = [(institution, month, admissions, discharges, bed_days, fen, yuan(fen),
                 ratio(bed_days, discharges, "1") if discharges else "",
                 ratio(fen, bed_days, "0.01") if bed_days else "")
                for (institution, month), (admissions, discharges, bed_days, fen) in sorted(self.cells.items())]
        return {"stays.csv": (STAY_COLUMNS, rows)}


PLANNERS.append(plan_stays)
TRUTHS.append(StayTruth)

__all__ = ["Stay", "StayTruth", "yuan", "ratio", "plan_stays", "render", "STAY_COLUMNS", "VISITS_PER_ADMISSION"]
