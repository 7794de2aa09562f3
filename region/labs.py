"""Lab reports (检验报告) for a share of the visits with an examination charge, mostly at the hospitals.

A visit with an examination charge gets its tests at a hospital one time in two and at a community
member one time in seven. What is tested follows the diagnosis (``PANELS``: a blood count for
respiratory and most other complaints, lipids and kidney values for hypertension, glucose and HbA1c
for diabetes, urine for urinary infections, stool for diarrhoea and gastritis, a rapid influenza
test for influenza); one report per specimen, a little later the same day. Tests carry LOINC codes
(the hub's lab code lists hold only the flags), values drawn around a healthy mean or the
diagnosis's own (``SHIFTED``), the reference range, and the HL7 0078 flag the range gives
(``HH``/``LL`` past the critical limits, ``A`` for a positive qualitative result).

Truth: ``truth/labs.csv`` per institution × month, as the lab facts count (``fact_lab_test``, dated
by the report time): reports, results and abnormal results (any flag but ``N``).
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import ClassVar, NamedTuple

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR

from .events import PLANNERS, TRUTHS, MonthContext
from .model import Region
from .people import Typed
from .visits import DOC, Visit, patient_element

LAB_SHARE = {"hospital": 0.5, "community_center": 1 / 7, "clinic": 1 / 7}


@dataclass(frozen=True)
class Test:
    code: str                     # LOINC
    name: str
    unit: str | None
    low: float | None             # reference range (None: open)
    high: float | None
    mean: float                   # healthy mean and spread; a qualitative test: the chance of a positive
    spread: float
    places: int = 1
    critical: tuple[float | None, float | None] = (None, None)


T = {t.code: t for t in (
    Test("6690-2", "白细胞计数", "10^9/L", 3.5, 9.5, 6.5, 1.6, 2, (1.5, 30)),
    Test("718-7", "血红蛋白", "g/L", 115, 175, 138, 14, 0, (60, None)),
    Test("777-3", "血小板计数", "10^9/L", 125, 350, 230, 55, 0, (30, None)),
    Test("1988-5", "C反应蛋白", "mg/L", None, 10, 3.5, 2.5, 1),
    Test("14647-2", "总胆固醇", "mmol/L", None, 5.2, 4.7, 0.8, 2),
    Test("14927-8", "甘油三酯", "mmol/L", None, 1.7, 1.4, 0.5, 2),
    Test("22748-8", "低密度脂蛋白胆固醇", "mmol/L", None, 3.4, 2.8, 0.7, 2),
    Test("14682-9", "肌酐", "umol/L", 57, 111, 78, 16, 0),
    Test("2823-3", "钾", "mmol/L", 3.5, 5.3, 4.2, 0.35, 2, (2.8, 6.2)),
    Test("1742-6", "丙氨酸氨基转移酶", "U/L", 9, 50, 26, 11, 0),
    Test("14771-0", "空腹血糖", "mmol/L", 3.9, 6.1, 5.1, 0.5, 1, (2.8, 22.2)),
    Test("4548-4", "糖化血红蛋白", "%", 4.0, 6.0, 5.3, 0.35, 1),
    Test("5804-0", "尿蛋白", None, None, None, 0.04, 0),
    Test("5802-4", "尿亚硝酸盐", None, None, None, 0.03, 0),
    Test("5821-4", "尿白细胞", "/HPF", 0, 5, 2.5, 1.5, 0),
    Test("2335-8", "粪便隐血", None, None, None, 0.05, 0),
    Test("80382-5", "甲型流感病毒抗原", None, None, None, 0.1, 0),
)}
CBC, LIPIDS = ("6690-2", "718-7", "777-3"), ("14647-2", "14927-8", "22748-8")
# specimen (HL7 0487) → its tests, per diagnosis of the visits (visits.DIAGNOSES)
SPECIMENS = {"BLD": "全血", "SER": "血清", "UR": "尿液", "STL": "粪便", "THRT": "咽拭子"}
PANELS = {
    "J06.9": {"BLD": CBC}, "J20": {"BLD": (*CBC, "1988-5")}, "J18": {"BLD": (*CBC, "1988-5")},
    "R05": {"BLD": CBC}, "J11": {"THRT": ("80382-5",), "BLD": CBC}, "J44": {"BLD": CBC},
    "I10": {"SER": (*LIPIDS, "14682-9", "2823-3")}, "I25": {"SER": (*LIPIDS, "1742-6")},
    "E11": {"SER": ("14771-0", "4548-4", *LIPIDS)}, "K29": {"BLD": CBC, "STL": ("2335-8",)},
    "K30": {"BLD": CBC}, "A09": {"BLD": CBC, "STL": ("2335-8",)}, "M54": {"BLD": CBC},
    "M17": {"BLD": (*CBC, "1988-5")}, "L30": {"BLD": CBC}, "N39": {"UR": ("5804-0", "5802-4", "5821-4")},
}
# (diagnosis, test) → (mean, spread) or a qualitative test's chance of a positive
SHIFTED = {
    ("J18", "6690-2"): (12.5, 3.5), ("J18", "1988-5"): (45, 30), ("J20", "6690-2"): (9.0, 2.5),
    ("J20", "1988-5"): (12, 10), ("J11", "80382-5"): (0.7, 0), ("J11", "6690-2"): (5.0, 1.5),
    ("I10", "14647-2"): (5.3, 1.0), ("I10", "14682-9"): (92, 25), ("I25", "22748-8"): (3.3, 0.9),
    ("E11", "14771-0"): (8.6, 2.3), ("E11", "4548-4"): (7.6, 1.3), ("E11", "14927-8"): (2.0, 0.8),
    ("A09", "2335-8"): (0.15, 0), ("K29", "2335-8"): (0.1, 0), ("N39", "5804-0"): (0.2, 0),
    ("N39", "5802-4"): (0.6, 0), ("N39", "5821-4"): (25, 15), ("M17", "1988-5"): (6, 4),
}


class Result(NamedTuple):
    test: str
    value: str
    flag: str


@dataclass(frozen=True)
class LabReport:
    record_id: str
    institution: str
    person_id: str
    time: datetime                  # the report time
    ordered_by: tuple[str, str]     # the visit's doctor
    specimen: str
    results: tuple[Result, ...]
    patient: Typed
    outpatient_no: str
    kind: ClassVar[str] = "LabReport"

    @property
    def month(self) -> str:
        return f"{self.time.year}-{self.time.month:02d}"

    def render(self, region: Region) -> etree._Element:
        return render(self, region)


def _result(rng: random.Random, test: Test, diagnosis: str) -> Result:
    mean, spread = SHIFTED.get((diagnosis, test.code), (test.mean, test.spread))
    if test.unit is None:  # qualitative
        positive = rng.random() < mean
        return Result(test.code, "阳性" if positive else "阴性", "A" if positive else "N")
    value = round(max(rng.gauss(mean, spread), mean / 10), test.places)
    low, high = test.critical
    if low is not None and value < low:
        flag = "LL"
    elif high is not None and value > high:
        flag = "HH"
    elif test.low is not None and value < test.low:
        flag = "L"
    elif test.high is not None and value > test.high:
        flag = "H"
    else:
        flag = "N"
    return Result(test.code, f"{value:.{test.places}f}", flag)


def plan_labs(ctx: MonthContext) -> list[LabReport]:
    """The member-month's lab reports, after the visits with an examination charge."""
    member, year, month = ctx.member, ctx.year, ctx.month
    if not member.sees_patients:
        return []
    rng = random.Random(f"{ctx.seed}:labs:{member.code}:{year}-{month:02d}")
    share, reports = LAB_SHARE[member.kind], []
    for visit in ctx.planned:
        if type(visit) is not Visit or all(c != "examinations" for c, _ in visit.charges_fen):
            continue
        if rng.random() >= share:
            continue
        reported = visit.time + timedelta(minutes=rng.randint(40, 150))
        reported = min(reported, visit.time.replace(hour=23, minute=59))  # the visit's day, so its month
        for specimen, tests in PANELS[visit.diagnosis].items():
            results = tuple(_result(rng, T[code], visit.diagnosis) for code in tests)
            reports.append(LabReport(f"{member.code}-SYN-LB-{year}{month:02d}-{len(reports) + 1:05d}", member.code,
                                     visit.person_id, reported, visit.practitioner, specimen, results,
                                     visit.patient, visit.outpatient_no))
    return reports


@lru_cache(maxsize=1)
def _template() -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / "LabReport.xml").read_bytes())


def render(report: LabReport, region: Region) -> etree._Element:
    """The canonical LabReport document of ``report``."""
    doc = copy.deepcopy(_template())
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", report.record_id)
    header.find(f"{DOC}effectiveTime").set("value", (report.time + timedelta(minutes=5)).isoformat())
    author = header.find(f"{DOC}author")
    author.find(f"{DOC}institution").attrib.update({"code": report.institution,
                                                   "name": region.institution(report.institution).name})
    author.remove(author.find(f"{DOC}practitioner"))  # the region registers no laboratory staff
    header.replace(header.find(f"{DOC}patient"),
                   patient_element(report.patient, number=report.outpatient_no))
    body = doc.find(f"{DOC}body")
    for child in list(body):
        body.remove(child)
    etree.SubElement(body, f"{DOC}orderedBy", code=report.ordered_by[0], name=report.ordered_by[1])
    etree.SubElement(body, f"{DOC}specimen", code=report.specimen, codeSystem="HL7 0487",
                     displayName=SPECIMENS[report.specimen])
    etree.SubElement(body, f"{DOC}reportTime", value=report.time.isoformat())
    for result in report.results:
        test, element = T[result.test], etree.SubElement(body, f"{DOC}result")
        etree.SubElement(element, f"{DOC}test", code=test.code, codeSystem="LOINC", displayName=test.name)
        etree.SubElement(element, f"{DOC}value").text = result.value
        if test.unit:
            etree.SubElement(element, f"{DOC}unit").text = test.unit
            bounds = {name: f"{bound:g}" for name, bound in (("low", test.low), ("high", test.high))
                      if bound is not None}
            etree.SubElement(element, f"{DOC}referenceRange", bounds)
        etree.SubElement(element, f"{DOC}abnormalFlag", code=result.flag)
    return doc


LAB_COLUMNS = ("institution", "month", "reports", "results", "abnormal_results")


class LabTruth:
    """Per institution × month: reports, results and abnormal results (flag other than N)."""

    def __init__(self):
        self.cells: dict[tuple[str, str], list[int]] = {}

    def add(self, event) -> None:
        if event.kind != "LabReport":
            return
        cell = self.cells.setdefault((event.institution, event.month), [0, 0, 0])
        cell[0] += 1
        cell[1] += len(event.results)
        cell[2] += sum(result.flag != "N" for result in event.results)

    def files(self):
        return {"labs.csv": (LAB_COLUMNS, [(*key, *cell) for key, cell in sorted(self.cells.items())])}


PLANNERS.append(plan_labs)
TRUTHS.append(LabTruth)

__all__ = ["LAB_SHARE", "Test", "T", "PANELS", "SHIFTED", "SPECIMENS", "Result", "LabReport", "plan_labs", "render",
           "LAB_COLUMNS", "LabTruth"]
