"""The region's drugs: the catalogue, batch numbers, and the DrugMovement documents from supplier to patient.

Every month the distributor ``RD01`` receives one batch of each catalogue drug from its suppliers
(``receipt``, supplier → distributor) and ships it to every care giver on the 1st before opening
(``transfer``, distributor → institution); each care giver records the ``receipt`` of what arrived.
The dispenses (medication.py) name the batch of their month. A batch number is derived from
``(seed, drug, year, month)`` alone (``batch_number``), and a shipment's quantity from the month's
expected demand (``shipped``), so the distributor, the institutions and the dispenses agree while
every member-month is planned on its own.

Two batches are special, whatever months the region has: the recalled one (``RECALL``:
amoxicillin of the region's second month) is shipped and dispensed like any other, and the truth
names its receivers and patients (``truth/recall.json``); the counterfeit amlodipine batch
(``counterfeit``) is on half of one community centre's amlodipine dispenses every month, but is
never shipped or received by anyone (``truth/counterfeit.json``).
"""
from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR
from schemas.terminology import lookup

from .events import PLANNERS, TRUTHS, MonthContext
from .model import Institution, Region, build_region
from .visits import CHARGES, CHINA, DIAGNOSES, DOC, RESPIRATORY_WINTER_BOOST, Pools, expected_visits

DISTRIBUTOR = "RD01"
SUPPLIERS = (("RS01", "合成制药股份有限公司"), ("RS02", "合成药业集团有限公司"))
WHOLESALE = 0.85     # the distributor's price as a share of the retail price


@dataclass(frozen=True)
class Drug:
    code: str            # schemas/codes/drugs.csv
    abbreviation: str    # the batch number's prefix
    specification: str
    unit: str
    price_fen: int       # retail price of one unit

    @property
    def name(self) -> str:
        return lookup("drugs", self.code).display

    @property
    def wholesale_fen(self) -> int:
        return int(self.price_fen * WHOLESALE)


CATALOGUE = {drug.code: drug for drug in (
    Drug("YP0001", "AMX", "0.25g*24粒", "盒", 1250), Drug("YP0002", "CFX", "0.25g*12片", "盒", 2860),
    Drug("YP0003", "AZM", "0.25g*6片", "盒", 1980), Drug("YP0004", "LVX", "0.5g*4片", "盒", 1560),
    Drug("YP0005", "CRO", "1.0g", "支", 680), Drug("YP0007", "MTZ", "0.2g*21片", "盒", 450),
    Drug("YP0008", "IBU", "0.3g*20粒", "盒", 1580), Drug("YP0009", "APA", "0.5g*20片", "盒", 620),
    Drug("YP0010", "ASA", "100mg*30片", "盒", 1590), Drug("YP0011", "NIF", "30mg*7片", "盒", 3250),
    Drug("YP0012", "AML", "5mg*28片", "盒", 2860), Drug("YP0013", "IRB", "0.15g*7片", "盒", 2190),
    Drug("YP0014", "VAL", "80mg*7粒", "盒", 2440), Drug("YP0015", "MTP", "47.5mg*7片", "盒", 1870),
    Drug("YP0016", "HCT", "25mg*100片", "瓶", 380), Drug("YP0017", "ATV", "20mg*7片", "盒", 3360),
    Drug("YP0018", "RSV", "10mg*7片", "盒", 3480), Drug("YP0019", "MET", "0.5g*60片", "盒", 2895),
    Drug("YP0020", "GLM", "2mg*15片", "盒", 2650), Drug("YP0021", "ACA", "50mg*30片", "盒", 4120),
    Drug("YP0022", "INA", "3ml:300单位", "支", 6890), Drug("YP0023", "ING", "3ml:300单位", "支", 8920),
    Drug("YP0024", "OME", "20mg*14粒", "盒", 1520), Drug("YP0025", "DOM", "10mg*30片", "盒", 1680),
    Drug("YP0026", "SMT", "3g*10袋", "盒", 1450), Drug("YP0027", "LOR", "10mg*6片", "盒", 1820),
    Drug("YP0028", "CTZ", "10mg*12片", "盒", 2250), Drug("YP0029", "AMB", "30mg*20片", "盒", 980),
    Drug("YP0030", "SAL", "100μg*200揿", "支", 2560), Drug("YP0031", "BFM", "160μg/4.5μg*60吸", "支", 23800),
    Drug("YP0036", "CAD", "600mg*60片", "瓶", 3980), Drug("YP0037", "NSI", "0.9%:250ml", "袋", 350),
    Drug("YP0039", "OSV", "75mg*10粒", "盒", 8900), Drug("YP0040", "DEX", "5mg:1ml", "支", 180),
    Drug("YP0045", "LHQ", "0.35g*24粒", "盒", 1480), Drug("YP0046", "DSD", "27mg*180丸", "瓶", 2650),
)}

# what is prescribed for each diagnosis of the visits (visits.DIAGNOSES): (drug, weight)
INDICATIONS = {
    "J06.9": (("YP0009", 4), ("YP0008", 3), ("YP0029", 3), ("YP0045", 3), ("YP0027", 1), ("YP0001", 2),
              ("YP0003", 1)),
    "J20": (("YP0029", 4), ("YP0001", 3), ("YP0002", 2), ("YP0003", 2), ("YP0045", 2)),
    "J18": (("YP0005", 4), ("YP0004", 3), ("YP0003", 2), ("YP0037", 3), ("YP0029", 2)),
    "R05": (("YP0029", 5), ("YP0045", 2), ("YP0027", 1)),
    "J11": (("YP0039", 5), ("YP0009", 3), ("YP0045", 3)),
    "J44": (("YP0031", 5), ("YP0030", 4), ("YP0029", 2)),
    "I10": (("YP0012", 5), ("YP0011", 3), ("YP0013", 3), ("YP0014", 2), ("YP0015", 2), ("YP0016", 2)),
    "I25": (("YP0010", 5), ("YP0017", 4), ("YP0018", 2), ("YP0015", 2), ("YP0046", 3)),
    "E11": (("YP0019", 6), ("YP0020", 2), ("YP0021", 3), ("YP0022", 1), ("YP0023", 1)),
    "K29": (("YP0024", 5), ("YP0025", 3)), "K30": (("YP0025", 4), ("YP0024", 2)),
    "A09": (("YP0026", 5), ("YP0007", 1), ("YP0037", 1)),
    "M54": (("YP0008", 5), ("YP0009", 2)), "M17": (("YP0008", 4), ("YP0036", 3)),
    "L30": (("YP0027", 4), ("YP0028", 3), ("YP0040", 1)), "N39": (("YP0004", 4), ("YP0002", 3)),
}
LINES = ((1, 50), (2, 35), (3, 15))   # drug lines of a prescription: (count, weight)
MAX_QUANTITY = 10                     # units of one drug on one prescription line

RECALL = "YP0001"          # amoxicillin: its batch of the region's second month (the only one's) is recalled
COUNTERFEIT = "YP0012"     # amlodipine: one centre mixes a fake batch into its stock
COUNTERFEIT_SHARE = 1 / 2  # of that centre's amlodipine lines, every month


@lru_cache(maxsize=4096)
def batch_number(seed: int, drug: str, year: int, month: int) -> str:
    """The batch of ``drug`` the distributor ships in ``year``-``month`` (e.g. ``AML2502417``)."""
    sequence = random.Random(f"{seed}:batch:{drug}:{year}-{month:02d}").randrange(100, 900)
    return f"{CATALOGUE[drug].abbreviation}{year % 100:02d}{month:02d}{sequence:03d}"


def expiry(year: int, month: int) -> date:
    """A batch keeps two years: the last day of the month before, two years on."""
    return date(year + 2, month, 1) - timedelta(days=1)


@lru_cache(maxsize=64)
def counterfeit(seed: int, year: int) -> tuple[str, str, str]:
    """(community centre, drug, batch number) of the fake batch: a January number of ``year`` that no
    real batch has (900-999)."""
    rng = random.Random(f"{seed}:counterfeit")
    centres = sorted(i.code for i in build_region(seed=seed).institutions if i.kind == "community_center")
    number = f"{CATALOGUE[COUNTERFEIT].abbreviation}{year % 100:02d}01{rng.randrange(900, 1000):03d}"
    return rng.choice(centres), COUNTERFEIT, number


def receipt_time(region: Region, member: str, year: int, month: int) -> datetime:
    """When ``member`` receives its monthly shipment: the 1st, from 06:00, before any clinic opens."""
    order = [i.code for i in region.care_givers].index(member)
    return datetime(year, month, 1, 6, 0, tzinfo=CHINA) + timedelta(minutes=5 * order)


@lru_cache(maxsize=32)
def _lines_per_visit(month: int, kind: str) -> dict[str, tuple[float, float]]:
    """drug → (expected lines per visit, expected units per line), ages ignored (an upper estimate)."""
    boost = 1 + (RESPIRATORY_WINTER_BOOST - 1) * min(abs(month - 7), 5) / 5
    weights = {code: weight * (boost if respiratory else 1) for code, _, respiratory, _, weight in DIAGNOSES}
    total = sum(weights.values())
    mean_lines = sum(n * w for n, w in LINES) / sum(w for _, w in LINES)
    low, high = CHARGES["hospital" if kind == "hospital" else "community"]["drugs"]
    demand: dict[str, list[float]] = {}
    for diagnosis, weight in weights.items():
        for drug, chance in _inclusion(diagnosis).items():
            units = min(MAX_QUANTITY, max(1.0, (low + high) / 2 / mean_lines / CATALOGUE[drug].price_fen * 1.3))
            demand.setdefault(drug, [0.0, units])[0] += weight / total * chance
    return {drug: (lines, units) for drug, (lines, units) in demand.items()}


@lru_cache(maxsize=None)
def _inclusion(diagnosis: str) -> dict[str, float]:
    """drug → the chance that a prescription for ``diagnosis`` has it: exact for medication.py's draw
    (a count from LINES, then drugs by weight without replacement)."""
    table = dict(INDICATIONS[diagnosis])
    chances = dict.fromkeys(table, 0.0)
    total_weight = sum(w for _, w in LINES)

    def draw(chosen: tuple[str, ...], chance: float, count: int) -> None:
        if len(chosen) == count:
            for drug in chosen:
                chances[drug] += chance
            return
        left = sum(w for d, w in table.items() if d not in chosen)
        for drug, w in table.items():
            if drug not in chosen:
                draw((*chosen, drug), chance * w / left, count)

    for count, w in LINES:
        draw((), w / total_weight, min(count, len(table)))
    return chances


def shipped(region: Region, pools: Pools, member: Institution, year: int, month: int) -> dict[str, int]:
    """drug → units shipped to ``member`` in the month: twice the expected demand and 30 more, in tens."""
    visits = expected_visits(region, pools, member, month)
    return {drug: math.ceil((2 * visits * lines * units + 30) / 10) * 10
            for drug, (lines, units) in sorted(_lines_per_visit(month, member.kind).items())}


@dataclass(frozen=True)
class Lot:
    drug: str
    batch: str
    expiry: date
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class DrugMovement:
    """One movement document: a receipt or a transfer of the month's batches (no patient)."""

    record_id: str
    institution: str                 # the sending member (author)
    movement: str                    # receipt | transfer
    time: datetime
    source: tuple[str, str, str]     # code, name, kind (supplier | distributor | institution)
    target: tuple[str, str, str]
    lots: tuple[Lot, ...]
    person_id: str | None = field(default=None)
    kind: ClassVar[str] = "DrugMovement"

    @property
    def month(self) -> str:
        return f"{self.time.year}-{self.time.month:02d}"

    def render(self, region: Region) -> etree._Element:
        return render(self, region)


def _lots(seed: int, year: int, month: int, quantities: dict[str, int]) -> tuple[Lot, ...]:
    return tuple(Lot(drug, batch_number(seed, drug, year, month), expiry(year, month), units,
                     units * CATALOGUE[drug].wholesale_fen) for drug, units in quantities.items())


def plan_movements(ctx: MonthContext) -> list[DrugMovement]:
    """The distributor's receipts from its suppliers and transfers to every care giver, or a care
    giver's receipt of its monthly shipment."""
    region, member, year, month = ctx.region, ctx.member, ctx.year, ctx.month
    distributor = region.institution(DISTRIBUTOR)
    party = (distributor.code, distributor.name, "distributor")
    number = f"{year}{month:02d}"
    if member.sees_patients:
        lots = _lots(ctx.seed, year, month, shipped(region, ctx.pools, member, year, month))
        return [DrugMovement(f"{member.code}-SYN-DM-{number}-00001", member.code, "receipt",
                             receipt_time(region, member.code, year, month), party,
                             (member.code, member.name, "institution"), lots)]
    if member.code != DISTRIBUTOR:
        return []
    rng = random.Random(f"{ctx.seed}:drug-movements:{member.code}:{year}-{month:02d}")
    shipments = {i.code: shipped(region, ctx.pools, i, year, month) for i in region.care_givers}
    moves = []
    for index, (code, name) in enumerate(SUPPLIERS):  # a tenth more than shipped stays in stock
        drugs = [drug for drug in CATALOGUE if int(drug[2:]) % len(SUPPLIERS) == index]
        totals = {drug: math.ceil(sum(s[drug] for s in shipments.values()) * 1.1 / 100) * 100 for drug in drugs}
        arrived = datetime(year, month, 1, 1, rng.randrange(60), tzinfo=CHINA)  # the night delivery
        moves.append(("receipt", arrived, (code, name, "supplier"), party, totals))
    for institution in region.care_givers:
        left = receipt_time(region, institution.code, year, month) - timedelta(minutes=rng.randint(30, 50))
        moves.append(("transfer", left, party, (institution.code, institution.name, "institution"),
                      shipments[institution.code]))
    return [DrugMovement(f"{member.code}-SYN-DM-{number}-{n:05d}", member.code, movement, time, source, target,
                         _lots(ctx.seed, year, month, quantities))
            for n, (movement, time, source, target, quantities) in enumerate(moves, start=1)]


@lru_cache(maxsize=1)
def _template() -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / "DrugMovement.xml").read_bytes())


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def render(movement: DrugMovement, region: Region) -> etree._Element:
    """The canonical DrugMovement document of ``movement`` (a copy of the example with its fields)."""
    doc = copy.deepcopy(_template())
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", movement.record_id)
    header.find(f"{DOC}effectiveTime").set("value", (movement.time + timedelta(minutes=10)).isoformat())
    author = header.find(f"{DOC}author")
    author.find(f"{DOC}institution").attrib.update(
        {"code": movement.institution, "name": region.institution(movement.institution).name})
    author.remove(author.find(f"{DOC}practitioner"))
    body = doc.find(f"{DOC}body")
    body.find(f"{DOC}movementType").set("code", movement.movement)
    body.find(f"{DOC}movementTime").set("value", movement.time.isoformat())
    for tag, (code, name, kind) in (("from", movement.source), ("to", movement.target)):
        body.find(f"{DOC}{tag}").attrib.update({"code": code, "name": name, "kind": kind})
    for item in body.findall(f"{DOC}item"):
        body.remove(item)
    for lot in movement.lots:
        drug = CATALOGUE[lot.drug]
        item = etree.SubElement(body, f"{DOC}item")
        etree.SubElement(item, f"{DOC}drug", code=drug.code, displayName=drug.name)
        etree.SubElement(item, f"{DOC}specification").text = drug.specification
        etree.SubElement(item, f"{DOC}batchNumber").text = lot.batch
        etree.SubElement(item, f"{DOC}expiryDate", value=lot.expiry.isoformat())
        etree.SubElement(item, f"{DOC}quantity").text = str(lot.quantity)
        etree.SubElement(item, f"{DOC}unit").text = drug.unit
        etree.SubElement(item, f"{DOC}amount").text = _yuan(lot.amount_fen)
    return doc


BATCH_COLUMNS = ("batch", "drug", "month", "expiry_date", "from_code", "to_code", "shipped", "received", "dispensed")
MOVEMENT_COLUMNS = ("institution", "month", "movement_type", "documents", "lines", "quantity", "amount_fen")


class BatchTruth:
    """Where every batch went: ``drug_batches.csv`` (each leg, with what its receiver dispensed),
    ``drug_movements.csv`` (the movement facts per member × month × type), ``recall.json`` and
    ``counterfeit.json``. Fed the DrugMovement and Dispense events."""

    def __init__(self):
        self.legs: dict[tuple[str, str, str], dict] = {}          # (batch, from, to) -> leg
        self.dispensed: dict[tuple[str, str], int] = {}            # (batch, institution) -> units
        self.movements: dict[tuple[str, str, str], list[int]] = {}
        self.patients: dict[str, list[dict]] = {}                  # batch -> dispenses naming it
        self.fakes: dict[str, dict] = {}

    def add(self, event) -> None:
        if event.kind == "DrugMovement":
            cell = self.movements.setdefault((event.institution, event.month, event.movement), [0, 0, 0, 0])
            cell[0] += 1
            for lot in event.lots:
                cell[1] += 1
                cell[2] += lot.quantity
                cell[3] += lot.amount_fen
                leg = self.legs.setdefault((lot.batch, event.source[0], event.target[0]), {
                    "drug": lot.drug, "month": event.month, "expiry": lot.expiry.isoformat(), "shipped": "",
                    "received": 0, "receipt": ""})
                if event.movement == "transfer":
                    leg["shipped"] = lot.quantity
                else:
                    leg["received"], leg["receipt"] = lot.quantity, event.record_id
        elif event.kind == "Dispense":
            for line in event.lines:
                key = (line.batch, event.institution)
                self.dispensed[key] = self.dispensed.get(key, 0) + line.quantity
                if line.counterfeit:
                    self.fakes.setdefault(line.batch, {"drug": line.drug, "institution": event.institution})
                elif line.drug != RECALL:
                    continue  # patients are kept for the recalled drug and the fake batch only
                self.patients.setdefault(line.batch, []).append(
                    {"person_id": event.person_id, "institution": event.institution, "dispense": event.record_id,
                     "date": f"{event.time:%Y-%m-%d}", "quantity": line.quantity})

    def _recall(self) -> dict:
        months = sorted({leg["month"] for leg in self.legs.values() if leg["drug"] == RECALL})
        if not months:
            return {"batch": None, "reason": "no batch of the drug was shipped"}
        legs = sorted((batch, source, target, leg) for (batch, source, target), leg in self.legs.items()
                      if leg["drug"] == RECALL and leg["month"] == months[min(1, len(months) - 1)])
        batch, *_, first = legs[0]
        receivers = [{"institution": target, "from": source, "received": leg["received"], "receipt": leg["receipt"]}
                     for _, source, target, leg in legs if leg["received"]]
        patients = sorted(self.patients.get(batch, []), key=lambda p: p["dispense"])
        return {"batch": batch, "drug": RECALL, "month": first["month"], "expiry_date": first["expiry"],
                "reason": "SYNTHETIC recall: quality defect found after distribution",
                "receivers": receivers, "patients": patients,
                "dispensed": sum(p["quantity"] for p in patients)}

    def _counterfeit(self) -> dict:
        if not self.fakes:
            return {"batch": None, "reason": "no amlodipine line drew the fake batch"}
        batch, where = next(iter(sorted(self.fakes.items())))
        dispenses = sorted(self.patients[batch], key=lambda p: p["dispense"])
        return {"batch": batch, **where, "months": sorted({p["date"][:7] for p in dispenses}), "shipped_to": [],
                "received_by": [], "dispenses": dispenses,
                "dispensed": sum(p["quantity"] for p in dispenses)}

    def files(self):
        batches = [(batch, leg["drug"], leg["month"], leg["expiry"], source, target, leg["shipped"], leg["received"],
                    self.dispensed.get((batch, target), 0))
                   for (batch, source, target), leg in sorted(self.legs.items())]
        movements = [(*key, *cell) for key, cell in sorted(self.movements.items())]
        return {"drug_batches.csv": (BATCH_COLUMNS, batches), "drug_movements.csv": (MOVEMENT_COLUMNS, movements),
                "recall.json": (None, self._recall()), "counterfeit.json": (None, self._counterfeit())}


PLANNERS.append(plan_movements)
TRUTHS.append(BatchTruth)

__all__ = ["DISTRIBUTOR", "SUPPLIERS", "Drug", "CATALOGUE", "INDICATIONS", "LINES", "MAX_QUANTITY", "RECALL",
           "COUNTERFEIT", "COUNTERFEIT_SHARE", "batch_number", "expiry", "counterfeit", "receipt_time", "shipped",
           "Lot", "DrugMovement", "plan_movements", "render", "BatchTruth", "BATCH_COLUMNS", "MOVEMENT_COLUMNS"]
