"""Prescriptions (处方) following the visits, and their dispenses (发药) naming the batches received.

Nine visits in ten (every visit has a drug charge) end with a prescription of one to three drugs
for the visit's diagnosis (drugs.INDICATIONS), written by the visit's doctor a few minutes later;
the lines' amounts add up to the visit's drug charge exactly. Most prescriptions (93 %) are
dispensed by the member's own pharmacy the same day, each line naming the batch of the drug the
member received that month (drugs.batch_number): never before the monthly shipment arrived. At the
counterfeit's centre, half the amlodipine lines name the fake batch (drugs.counterfeit).

Truth: ``truth/medication.csv`` per institution × month, as the prescriptions cube counts
(``fact_medication``): prescriptions, lines, amount, prescriptions with an antibiotic (ATC J01),
处方抗菌药物使用率; and the dispenses, their lines and amount.
"""
from __future__ import annotations

import copy
import random
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import accumulate
from typing import ClassVar, NamedTuple

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR
from schemas.terminology import lookup

from .drugs import (
    CATALOGUE, COUNTERFEIT_SHARE, INDICATIONS, LINES, MAX_QUANTITY, batch_number, counterfeit, receipt_time,
)
from .events import PLANNERS, TRUTHS, MonthContext
from .model import Region
from .people import Typed
from .visits import DOC, Visit, patient_element

PRESCRIBED_SHARE = 0.9     # of the visits
DISPENSED_SHARE = 0.93     # of the prescriptions
DOSAGE = {"盒": "每日三次，每次1片/粒，口服", "瓶": "每日一次，每次1片，口服", "支": "遵医嘱使用",
          "袋": "静脉滴注，每日一次"}


class Line(NamedTuple):
    """One drug line (a tuple: a year has half a million of them)."""

    drug: str
    quantity: int
    amount_fen: int
    batch: str | None = None      # dispenses only
    counterfeit: bool = False     # the fake batch (truth only; the document cannot tell)


@dataclass(frozen=True)
class Prescription:
    record_id: str
    institution: str
    person_id: str
    time: datetime
    department: str                 # standard department code
    practitioner: tuple[str, str]
    diagnosis: str
    lines: tuple[Line, ...]
    patient: Typed                  # the visit's record of the person
    outpatient_no: str
    kind: ClassVar[str] = "Prescription"

    @property
    def month(self) -> str:
        return f"{self.time.year}-{self.time.month:02d}"

    @property
    def amount_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def render(self, region: Region) -> etree._Element:
        return render_prescription(self, region)


@dataclass(frozen=True)
class Dispense:
    record_id: str
    institution: str
    person_id: str
    time: datetime
    prescription: str               # the prescription's record id
    lines: tuple[Line, ...]
    patient: Typed
    outpatient_no: str
    kind: ClassVar[str] = "Dispense"

    @property
    def month(self) -> str:
        return f"{self.time.year}-{self.time.month:02d}"

    def render(self, region: Region) -> etree._Element:
        return render_dispense(self, region)


def _same_day(start: datetime, minutes: int) -> datetime:
    """``minutes`` after ``start``, but not past 23:59 of its day (the month's truth stays the visit's)."""
    later = start + timedelta(minutes=minutes)
    return later if later.day == start.day else start.replace(hour=23, minute=59)


@lru_cache(maxsize=None)
def _table(diagnosis: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The diagnosis's drugs and their cumulative weights (drawn by bisection: the hot loop of the year)."""
    codes, weights = zip(*INDICATIONS[diagnosis])
    return codes, tuple(accumulate(weights))


_COUNTS = tuple(accumulate(w / sum(w for _, w in LINES) for _, w in LINES))


def _lines(rng: random.Random, diagnosis: str, drug_fen: int) -> tuple[Line, ...]:
    codes, cumulative = _table(diagnosis)
    count = min(len(codes), LINES[bisect(_COUNTS, rng.random())][0])
    drugs: list[str] = []
    while len(drugs) < count:  # weighted, without replacement
        drug = codes[bisect(cumulative, rng.random() * cumulative[-1])]
        if drug not in drugs:
            drugs.append(drug)
    shares = [rng.random() + 0.5 for _ in drugs]
    total, lines, left = sum(shares), [], drug_fen
    for index, drug in enumerate(drugs):
        amount = left if index == len(drugs) - 1 else int(drug_fen * shares[index] / total)
        left -= amount
        quantity = min(MAX_QUANTITY, max(1, round(amount / CATALOGUE[drug].price_fen)))
        lines.append(Line(drug, quantity, amount))
    return tuple(lines)


def plan_medication(ctx: MonthContext) -> list:
    """The member-month's prescriptions, each followed by its dispense when there is one."""
    member, year, month = ctx.member, ctx.year, ctx.month
    if not member.sees_patients:
        return []
    rng = random.Random(f"{ctx.seed}:medication:{member.code}:{year}-{month:02d}")
    stocked = receipt_time(ctx.region, member.code, year, month) + timedelta(minutes=10)
    fake_centre, fake_drug, fake_batch = counterfeit(ctx.seed, year)
    fake = member.code == fake_centre
    batches = {drug: batch_number(ctx.seed, drug, year, month) for drug in CATALOGUE}
    events: list = []
    prescriptions = dispenses = 0
    number = f"{year}{month:02d}"
    for visit in ctx.planned:
        if type(visit) is not Visit or rng.random() >= PRESCRIBED_SHARE:
            continue
        drug_fen = visit.drug_fen
        if drug_fen <= 0:
            continue
        prescriptions += 1
        lines = _lines(rng, visit.diagnosis, drug_fen)
        written = _same_day(visit.time, 5 + int(rng.random() * 11))
        rx = Prescription(f"{member.code}-SYN-RX-{number}-{prescriptions:05d}", member.code, visit.person_id, written,
                          visit.standard_department, visit.practitioner, visit.diagnosis, lines, visit.patient,
                          visit.outpatient_no)
        events.append(rx)
        if rng.random() >= DISPENSED_SHARE:
            continue
        dispenses += 1
        given = tuple([Line(drug, quantity, fen, fake_batch, True)
                       if fake and drug == fake_drug and rng.random() < COUNTERFEIT_SHARE else
                       Line(drug, quantity, fen, batches[drug]) for drug, quantity, fen, *_ in lines])
        handed = _same_day(written, 5 + int(rng.random() * 26))
        events.append(Dispense(f"{member.code}-SYN-DS-{number}-{dispenses:05d}", member.code, visit.person_id,
                               handed if handed.day > 1 else max(handed, stocked), rx.record_id, given,
                               visit.patient, visit.outpatient_no))
    return events


@lru_cache(maxsize=None)
def _template(kind: str) -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / f"{kind}.xml").read_bytes())


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _document(event, region: Region, practitioner: tuple[str, str] | None) -> tuple[etree._Element, etree._Element]:
    """A copy of the kind's example with ``event``'s header; returns the document and its emptied body."""
    doc = copy.deepcopy(_template(event.kind))
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", event.record_id)
    header.find(f"{DOC}effectiveTime").set("value", (event.time + timedelta(minutes=2)).isoformat())
    author = header.find(f"{DOC}author")
    author.find(f"{DOC}institution").attrib.update({"code": event.institution,
                                                   "name": region.institution(event.institution).name})
    if practitioner is None:  # the region registers no pharmacists: the pharmacy signs as the member
        author.remove(author.find(f"{DOC}practitioner"))
    else:
        author.find(f"{DOC}practitioner").attrib.update({"code": practitioner[0], "name": practitioner[1]})
    header.replace(header.find(f"{DOC}patient"),
                   patient_element(event.patient, number=event.outpatient_no))
    body = doc.find(f"{DOC}body")
    for child in list(body):
        body.remove(child)
    return doc, body


def _items(body: etree._Element, lines: tuple[Line, ...], *, dispensed: bool) -> None:
    for line in lines:
        drug = CATALOGUE[line.drug]
        item = etree.SubElement(body, f"{DOC}item")
        etree.SubElement(item, f"{DOC}drug", code=drug.code, displayName=drug.name)
        etree.SubElement(item, f"{DOC}specification").text = drug.specification
        etree.SubElement(item, f"{DOC}quantity").text = str(line.quantity)
        etree.SubElement(item, f"{DOC}unit").text = drug.unit
        etree.SubElement(item, f"{DOC}amount").text = _yuan(line.amount_fen)
        if dispensed:
            etree.SubElement(item, f"{DOC}batchNumber").text = line.batch
        etree.SubElement(item, f"{DOC}dosage").text = DOSAGE[drug.unit]


def render_prescription(rx: Prescription, region: Region) -> etree._Element:
    """The canonical Prescription document of ``rx``."""
    doc, body = _document(rx, region, rx.practitioner)
    etree.SubElement(body, f"{DOC}prescriptionTime", value=rx.time.isoformat())
    etree.SubElement(body, f"{DOC}department", code=rx.department)
    concept = lookup("icd10", rx.diagnosis)
    etree.SubElement(body, f"{DOC}diagnosis", code=rx.diagnosis, codeSystem="ICD-10", displayName=concept.display,
                     primary="true")
    _items(body, rx.lines, dispensed=False)
    return doc


def render_dispense(dispense: Dispense, region: Region) -> etree._Element:
    """The canonical Dispense document of ``dispense`` (it refers to its prescription)."""
    doc, body = _document(dispense, region, None)
    etree.SubElement(body, f"{DOC}dispenseTime", value=dispense.time.isoformat())
    etree.SubElement(body, f"{DOC}prescriptionRef", root="2.16.156.10011.1.1", extension=dispense.prescription)
    _items(body, dispense.lines, dispensed=True)
    return doc


MEDICATION_COLUMNS = ("institution", "month", "prescriptions", "prescription_lines", "prescription_fen",
                      "antibiotic_prescriptions", "antibiotic_rate", "dispenses", "dispense_lines", "dispense_fen")


@lru_cache(maxsize=None)
def is_antibiotic(drug: str) -> bool:
    """ATC J01, as the mart's drug dimension says (olap/dimensions/codes.py)."""
    return lookup("drugs", drug).extra.get("atc", "").startswith("J01")


class MedicationTruth:
    """Per institution × month what the prescriptions cube (and the dispense facts) will count."""

    def __init__(self):
        self.cells: dict[tuple[str, str], list[int]] = {}

    def add(self, event) -> None:
        if event.kind not in ("Prescription", "Dispense"):
            return
        cell = self.cells.get((event.institution, event.month))
        if cell is None:
            cell = self.cells[event.institution, event.month] = [0] * 7
        lines = event.lines
        fen = sum([line.amount_fen for line in lines])
        if event.kind == "Prescription":
            cell[0] += 1
            cell[1] += len(lines)
            cell[2] += fen
            cell[3] += any([is_antibiotic(line.drug) for line in lines])
        else:
            cell[4] += 1
            cell[5] += len(lines)
            cell[6] += fen

    def files(self):
        def rows():
            for (institution, month), (rx, lines, fen, antibiotic, ds, ds_lines, ds_fen) in sorted(self.cells.items()):
                rate = (Decimal(antibiotic) * 100 / Decimal(rx)).quantize(Decimal("0.01"), ROUND_HALF_UP) if rx else ""
                yield institution, month, rx, lines, fen, antibiotic, str(rate), ds, ds_lines, ds_fen
        return {"medication.csv": (MEDICATION_COLUMNS, rows())}


PLANNERS.append(plan_medication)
TRUTHS.append(MedicationTruth)

__all__ = ["PRESCRIBED_SHARE", "DISPENSED_SHARE", "Line", "Prescription", "Dispense", "plan_medication",
           "render_prescription", "render_dispense", "MEDICATION_COLUMNS", "is_antibiotic", "MedicationTruth"]
