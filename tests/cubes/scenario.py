"""A small synthetic region for the cube tests: registry, population and canonical documents.

Every person is synthetic (tests/support/population.py); documents are the integrator examples of
schemas/examples with their institution, times, codes and amounts changed. The data is shaped so
that most cells hold five or more persons (their values are published and compared) and a few hold
fewer (they must be suppressed): clinic C04 sees three visits in August 2025 only.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pandas as pd
from lxml import etree

from tests.support.documents import DOC_NS, document
from tests.support.population import generate

CHINA = timezone(timedelta(hours=8))
CITY = "330100"
# code, kind, division
INSTITUTIONS = (("H01", "hospital", "330106"), ("C01", "clinic", "330106"), ("C02", "community_center", "330106"),
                ("H02", "hospital", "330105"), ("C03", "clinic", "330105"), ("C04", "clinic", "330109"),
                ("C05", "clinic", "330109"), ("B01", "bureau", CITY), ("B02", "bureau", "330106"))
REGIONS = (("330000", "浙江省", "province", None), (CITY, "杭州市", "city", "330000"),
           ("330105", "拱墅区", "district", CITY), ("330106", "西湖区", "district", CITY),
           ("330109", "萧山区", "district", CITY))
BUSY = ("H01", "C01", "C02", "H02", "C03")
MONTHS = ((2025, 9), (2025, 10), (2025, 11), (2026, 9), (2026, 10), (2026, 11))
DEPARTMENTS = ("03.04", "03.03", "02")
DIAGNOSES = ("I10", "E11.9", "J06.9", "J18.9", "K29", "A09")
DRUGS = ("YP0001", "YP0002", "YP0003", "YP0012", "YP0019")  # the first three are ATC J01 antibiotics
DISEASES = (("311", "C"), ("20302", "B"), ("20301", "B"))
VACCINES = ("HepB", "MMR", "DTaP")  # of the national programme; C03 also gives one optional Flu dose a month
POPULATION = pd.DataFrame({
    "division_code": ["330105", "330106", "330109"] * 2,
    "year": [2025] * 3 + [2026] * 3,
    "population": [1_100_000, 1_200_000, 2_000_000, 1_120_000, 1_210_000, 2_010_000],
    "live_births": [8_000, 9_000, 15_000, 7_900, 8_800, 14_800],
    "children_under_7": [70_000, 80_000, 140_000, 69_000, 79_000, 139_000],
    "source": ["synthetic test figures"] * 6,
})


def _q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


def _set(doc: etree._Element, path: str, **attributes: str) -> etree._Element:
    element = doc.find(_q(path))
    for name, value in attributes.items():
        element.set(name, value)
    return element


def _text(doc: etree._Element, path: str, value: object) -> None:
    doc.find(_q(path)).text = str(value)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


class Scenario:
    """Documents per member, built deterministically from a seed."""

    def __init__(self, *, seed: int = 5, now: datetime | None = None):
        self.random = random.Random(seed)
        self.now = now or datetime.now(timezone.utc)
        people = generate(400, seed=seed).persons
        self.adults = [p for p in people if p.birth_date.year < 2000][:60]
        self.women = [p for p in self.adults if p.sex == "2"][:12]
        self.children = [p for p in people if 2020 <= p.birth_date.year <= 2025][:15]
        self.documents: dict[str, list[etree._Element]] = {}
        self.counter = 0

    def patient(self, person) -> dict:
        return {"resident_id": person.resident_id, "name": person.name, "sex": person.sex,
                "birth_date": person.birth_date.isoformat(), "division": person.division}

    def _add(self, member: str, doc: etree._Element, effective: datetime) -> None:
        _set(doc, "header/effectiveTime", value=_stamp(effective))
        self.documents.setdefault(member, []).append(doc)

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:05d}"

    def _moment(self, year: int, month: int) -> datetime:
        day = self.random.randint(1, 28)
        return datetime(year, month, day, self.random.randint(0, 23), self.random.randint(0, 59), tzinfo=CHINA)

    def visit(self, institution: str, when: datetime, *, effective: datetime | None = None) -> None:
        person = self.random.choice(self.adults)
        doc = document("OutpatientVisit", institution=institution, document_id=self._id(institution + "-OV"),
                       patient=self.patient(person))
        _set(doc, "body/visitTime", value=_stamp(when))
        _set(doc, "body/department", code=self.random.choice(DEPARTMENTS))
        _text(doc, "body/emergency", "true" if self.random.random() < 0.25 else "false")
        _set(doc, "body/diagnosis", code=self.random.choice(DIAGNOSES))
        for charge in doc.find(_q("body/charges")):
            charge.set("amount", f"{self.random.randint(100, 50000) / 100:.2f}")
        self._add(institution, doc, effective or when + timedelta(minutes=30))

    def stay(self, institution: str, admitted: datetime) -> None:
        days = self.random.randint(1, 12)
        doc = document("InpatientStay", institution=institution, document_id=self._id(institution + "-IP"),
                       patient=self.patient(self.random.choice(self.adults)))
        discharged = admitted + timedelta(days=days, hours=self.random.randint(-3, 3))
        _set(doc, "body/admissionTime", value=_stamp(admitted))
        _set(doc, "body/dischargeTime", value=_stamp(discharged))
        _text(doc, "body/bedDays", days)
        for charge in doc.find(_q("body/charges")):
            charge.set("amount", f"{self.random.randint(10000, 900000) / 100:.2f}")
        self._add(institution, doc, discharged)

    def prescription(self, institution: str, when: datetime) -> None:
        doc = document("Prescription", institution=institution, document_id=self._id(institution + "-RX"),
                       patient=self.patient(self.random.choice(self.adults)))
        _set(doc, "body/prescriptionTime", value=_stamp(when))
        body = doc.find(_q("body"))
        items = body.findall(_q("item"))
        drugs = self.random.sample(DRUGS, len(items))
        if self.random.random() < 0.5:
            body.remove(items[1])
            items = items[:1]
        for item, drug in zip(items, drugs):
            item.find(_q("drug")).set("code", drug)
            item.find(_q("amount")).text = f"{self.random.randint(100, 20000) / 100:.2f}"
        self._add(institution, doc, when)

    def monthly_stats(self, institution: str, year: int, month: int) -> None:
        doc = document("InstitutionMonthlyStats", institution=institution,
                       document_id=f"{institution}-STAT-{year}-{month:02d}")
        _set(doc, "body/period", value=f"{year}-{month:02d}")
        r = self.random
        for path, value in (("staffOnDuty", r.randint(20, 400)), ("approvedBeds", r.randint(0, 300)),
                            ("openBeds", r.randint(10, 250)), ("fixedAssets", f"{r.randint(10**6, 10**8)}.00"),
                            ("outpatientVisits", r.randint(1000, 40000)), ("inpatientDischarges", r.randint(0, 900))):
            _text(doc, f"body/{path}", value)
        for revenue in doc.find(_q("body")).findall(_q("revenue")):
            revenue.set("amount", f"{r.randint(10**5, 10**7) / 100:.2f}")
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)  # sent on the month's last day
        self._add(institution, doc, datetime(last.year, last.month, last.day, 20, tzinfo=CHINA))

    def disease_report(self, institution: str, when: datetime) -> None:
        person = self.random.choice(self.adults)
        doc = document("InfectiousDiseaseReport", institution=institution,
                       document_id=self._id(institution + "-IDR"), patient=self.patient(person))
        code, klass = self.random.choice(DISEASES)
        _set(doc, "body/disease", code=code)
        _set(doc, "body/diseaseClass", code=klass)
        _set(doc, "body/onsetDate", value=(when.date() - timedelta(days=2)).isoformat())
        _set(doc, "body/diagnosisDate", value=when.date().isoformat())
        _set(doc, "body/currentAddress", division=self.random.choice(("330105", "330106", "330109")))
        self._add(institution, doc, when)

    def referral(self, institution: str, when: datetime) -> None:
        doc = document("Referral", institution=institution, document_id=self._id(institution + "-RF"),
                       patient=self.patient(self.random.choice(self.adults)))
        _set(doc, "body/direction", code=self.random.choice(("up", "up", "down")))
        _set(doc, "body/referralTime", value=_stamp(when))
        _set(doc, "body/toInstitution", code=self.random.choice(("H01", "H02")))
        self._add(institution, doc, when)

    def maternal(self, institution: str, when: datetime) -> None:
        doc = document("MaternalCheckup", institution=institution, document_id=self._id(institution + "-MC"),
                       patient=self.patient(self.random.choice(self.women)))
        _set(doc, "body/checkupType", code=self.random.choice(("antenatal", "antenatal", "postnatal")))
        _set(doc, "body/checkupDate", value=when.date().isoformat())
        self._add(institution, doc, when)

    def child(self, institution: str, when: datetime) -> None:
        person = self.random.choice(self.children)
        doc = document("ChildHealthCheckup", institution=institution, document_id=self._id(institution + "-CH"),
                       patient=self.patient(person))
        _set(doc, "body/checkupDate", value=when.date().isoformat())
        months = max(0, (when.date() - person.birth_date).days // 30)
        _text(doc, "body/ageMonths", months)
        self._add(institution, doc, when)

    def immunization(self, institution: str, when: datetime, vaccine: str = "") -> None:
        doc = document("Immunization", institution=institution, document_id=self._id(institution + "-IM"),
                       patient=self.patient(self.random.choice(self.children)))
        _set(doc, "body/vaccine", code=vaccine or self.random.choice(VACCINES))
        _text(doc, "body/doseNumber", self.random.randint(1, 3))
        _set(doc, "body/administeredOn", value=when.date().isoformat())
        self._add(institution, doc, when)

    def build(self) -> "Scenario":
        """The whole region's documents (≈ 600)."""
        for year, month in MONTHS:
            for institution in BUSY:
                for _ in range(self.random.randint(7, 11)):
                    self.visit(institution, self._moment(year, month))
                for _ in range(self.random.randint(3, 6)):
                    self.prescription(institution, self._moment(year, month))
                self.monthly_stats(institution, year, month)
            for institution in ("H01", "H02"):
                for _ in range(self.random.randint(5, 7)):
                    self.stay(institution, self._moment(year, month))
            for _ in range(16):
                self.disease_report(self.random.choice(BUSY), self._moment(year, month))
            for _ in range(4):
                self.referral(self.random.choice(("C01", "C02", "C03")), self._moment(year, month))
        for _ in range(3):  # alone in its district and month: a small cell nothing else needs to hide
            self.visit("C04", self._moment(2025, 8))
        for year, month in ((2026, 10), (2026, 11)):
            for _ in range(10):
                self.maternal(self.random.choice(("C02", "H01")), self._moment(year, month))
                self.child(self.random.choice(("C02", "C01")), self._moment(year, month))
        recent = self.now - timedelta(hours=2)  # on time: reaches the hub within the day
        for institution in ("C01", "C03", "H02"):
            self.visit(institution, recent, effective=recent)
        for year, month in ((2026, 10), (2026, 11)):  # last: the data drawn before it stays as it was
            for institution in ("C01", "C02", "C03", "C03"):  # C04 and C05 stay as quiet as they were
                for _ in range(5):
                    self.immunization(institution, self._moment(year, month))
            self.immunization("C03", self._moment(year, month), "Flu")  # two children in all: withheld
        return self


__all__ = ["Scenario", "INSTITUTIONS", "REGIONS", "POPULATION", "CHINA", "MONTHS", "BUSY"]
