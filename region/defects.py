"""The hospitals' imperfect messages: corrected (version 2), cancelled, late, flawed and invalid (issue 20).

Planned last (``events.PLANNERS``), for the two hospitals only, per member-month from the month's
own visits (``ctx.planned``) and its own stream ``(seed, "defects", member, month)``:

- ``CorrectedVisit``: about 1 % of the visits get a version 2 (same record id, other charges and/or
  diagnosis), sent after version 1 in the same month; the hub replaces version 1's rows;
- ``VisitCancellation``: about 0.3 % of the visits are cancelled by a Cancellation document;
- late visits: about 2 % of the visits carry ``send_delay = 1`` (set on the planned visit itself: it
  is still one message). **The loader reads ``getattr(event, "send_delay", 0)``** and sends such an
  event that many months after its own (the last month's late visits after the last month); the cubes
  count a visit by its visit time, so it counts in its own month once loaded;
- ``FlawedVisit``: a visit whose patient's birth date lies after the visit: a demographic defect the
  hub stores (it counts as a visit);
- ``MistypedIdVisit``: a visit whose resident ID has a wrong check character: stored by the hub with
  the finding ``record.patient.id.invalid`` (the ID kept as invalid, the patient matched on the rest);
- ``InvalidDocument``: documents the hub rejects, each with its code (``DEFECTS``): never facts.

Corrected, cancelled and late visits are disjoint sets, so a Cancellation or a version 2 never
reaches the hub before the visit it names. Every event of this module says what the hub does with
it (``expected``: "stored", "replaced", "cancellation" — the records store's ``Outcome`` words — or
"rejected:<code>", its acknowledgement's code) and, for one stored with a finding, its ``finding``;
``MessageTruth`` writes them to ``truth/messages.csv``.
Every rejection comes back in the processing acknowledgement (status rejected, code, field), never
as a Fault: the gate does not read a document's content.
"""
from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR

from .events import PLANNERS, TRUTHS, MonthContext
from .model import Region
from .visits import CHARGES, DIAGNOSES, DOC, Visit, render

CORRECTED_SHARE, CANCELLED_SHARE, LATE_SHARE = 0.01, 0.003, 0.02  # of a hospital-month's visits
INVALID_PER_MONTH = 2  # clinical or structural defects, per hospital-month
DOCUMENT_ROOT = "2.16.156.10011.1.1"  # the document id root of the visits' template
MESSAGE_COLUMNS = ("record_id", "kind", "version", "institution", "month", "send_month", "defect", "expected",
                   "target", "finding")


def _month_end(when: datetime) -> datetime:
    first = when.replace(day=28) + timedelta(days=4)
    return first.replace(day=1, hour=0, minute=0, second=0) - timedelta(minutes=1)


def _later(when: datetime, rng: random.Random) -> datetime:
    """A moment after ``when`` (an hour to two days), in the same month."""
    return min(when + timedelta(minutes=rng.randrange(60, 2 * 24 * 60)), _month_end(when))


@dataclass(frozen=True)
class CorrectedVisit(Visit):
    """Version 2 of a visit: its record with other charges and/or diagnosis; ``replaces`` is version 1."""

    replaces: Visit | None = None
    corrected_at: datetime | None = None
    version: int = 2
    defect: ClassVar[str] = "correction"
    expected: ClassVar[str] = "replaced"

    def render(self, region: Region) -> etree._Element:
        document = render(self, region)
        header = document.find(f"{DOC}header")
        header.find(f"{DOC}version").text = str(self.version)
        header.find(f"{DOC}effectiveTime").set("value", self.corrected_at.isoformat())
        return document


@dataclass(frozen=True)
class FlawedVisit(Visit):
    """A visit typed with the patient's birth date after it: stored by the hub (a demographic defect)."""

    birth_date: date | None = None
    version: ClassVar[int] = 1
    defect: ClassVar[str] = "birth_date.after_visit"
    expected: ClassVar[str] = "stored"

    def render(self, region: Region) -> etree._Element:
        document = render(self, region)
        document.find(f"{DOC}header/{DOC}patient/{DOC}birthDate").set("value", self.birth_date.isoformat())
        return document


@dataclass(frozen=True)
class MistypedIdVisit(Visit):
    """A visit whose resident ID was typed with a wrong check character: stored, the ID kept as invalid."""

    version: ClassVar[int] = 1
    defect: ClassVar[str] = "resident_id.check_digit"
    expected: ClassVar[str] = "stored"
    finding: ClassVar[str] = "record.patient.id.invalid"

    def render(self, region: Region) -> etree._Element:
        document = render(self, region)
        _bad_check_digit(document, self)
        return document


@dataclass(frozen=True)
class VisitCancellation:
    """A Cancellation document retracting a visit (``cancels``)."""

    record_id: str
    institution: str
    person_id: str
    cancels: Visit
    time: datetime
    kind: ClassVar[str] = "Cancellation"
    version: ClassVar[int] = 1
    defect: ClassVar[str] = "cancellation"
    expected: ClassVar[str] = "cancellation"

    @property
    def month(self) -> str:
        return f"{self.time:%Y-%m}"

    def render(self, region: Region) -> etree._Element:
        return _cancellation(self.record_id, self.cancels, self.cancels.record_id, self.time, region,
                             reason="录入错误，就诊记录作废")


def _break_diagnosis(document: etree._Element, _visit: Visit) -> None:
    document.find(f"{DOC}body/{DOC}diagnosis").set("code", "J19")  # not an ICD-10 category (J18 mistyped)


def _break_department(document: etree._Element, visit: Visit) -> None:
    document.find(f"{DOC}body/{DOC}department").set("code", visit.department)  # the HIS's own code, not 国标


def _drop_visit_time(document: etree._Element, _visit: Visit) -> None:
    body = document.find(f"{DOC}body")
    body.remove(body.find(f"{DOC}visitTime"))


def _negative_charge(document: etree._Element, _visit: Visit) -> None:
    charge = document.find(f"{DOC}body/{DOC}charges/{DOC}charge")
    charge.set("amount", "-" + charge.get("amount"))


def _bad_check_digit(document: etree._Element, visit: Visit) -> None:
    element = document.find(f"{DOC}header/{DOC}patient/{DOC}id[@root='2.16.156.10011.1.3']")
    value = element.get("extension")
    element.set("extension", value[:17] + ("1" if value[17] == "0" else "0"))


# defect → (document kind, the code the hub rejects it with, how a visit's document is broken; None: a
# Cancellation of a record never sent). Codes as the real processor gives them (tests/region/test_defects.py).
DEFECTS: dict[str, tuple[str, str, Callable | None]] = {
    "diagnosis.unknown": ("OutpatientVisit", "record.code.unknown", _break_diagnosis),
    "department.local_code": ("OutpatientVisit", "record.code.unknown", _break_department),
    "visit_time.missing": ("OutpatientVisit", "record.schema.invalid", _drop_visit_time),
    "charge.negative": ("OutpatientVisit", "record.schema.invalid", _negative_charge),
    "cancel.unknown": ("Cancellation", "record.cancel.unknown", None),
}
CLINICAL_DEFECTS = tuple(DEFECTS)


@dataclass(frozen=True)
class InvalidDocument:
    """A document the hub must reject: a visit's document (``base``, under its own record id) broken by
    ``defect``, or a Cancellation of a record that was never sent."""

    record_id: str
    institution: str
    person_id: str
    base: Visit
    defect: str
    version: ClassVar[int] = 1

    @property
    def kind(self) -> str:
        return DEFECTS[self.defect][0]

    @property
    def code(self) -> str:
        return DEFECTS[self.defect][1]

    @property
    def expected(self) -> str:
        return f"rejected:{self.code}"

    @property
    def month(self) -> str:
        return self.base.month

    def render(self, region: Region) -> etree._Element:
        breaker = DEFECTS[self.defect][2]
        if breaker is None:
            # visits are numbered from 1: "-00000" of the month's visits was never sent
            never_sent = self.record_id.rsplit("-", 1)[0].replace("-SYN-IV-", "-SYN-OV-") + "-00000"
            return _cancellation(self.record_id, self.base, never_sent, self.base.time, region,
                                 reason="重复登记，作废")
        document = render(dataclasses.replace(self.base, record_id=self.record_id), region)
        breaker(document, self.base)
        return document


@lru_cache(maxsize=1)
def _cancellation_template() -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / "Cancellation.xml").read_bytes())


def _cancellation(record_id: str, visit: Visit, target: str, when: datetime, region: Region, *,
                  reason: str) -> etree._Element:
    """A Cancellation by ``visit``'s doctor of document ``target``, about ``visit``'s patient."""
    document = copy.deepcopy(_cancellation_template())
    header = document.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", record_id)
    header.find(f"{DOC}effectiveTime").set("value", when.isoformat())
    header.find(f"{DOC}author/{DOC}institution").attrib.update(
        {"code": visit.institution, "name": region.institution(visit.institution).name})
    header.find(f"{DOC}author/{DOC}practitioner").attrib.update(
        {"code": visit.practitioner[0], "name": visit.practitioner[1]})
    header.replace(header.find(f"{DOC}patient"), render(visit, region).find(f"{DOC}header/{DOC}patient"))
    document.find(f"{DOC}body/{DOC}target").attrib.update({"root": DOCUMENT_ROOT, "extension": target})
    document.find(f"{DOC}body/{DOC}reason").text = reason
    return document


def _corrected(visit: Visit, rng: random.Random) -> CorrectedVisit:
    """Version 2: charges re-entered (drugs re-priced, a category added or dropped) and/or another
    diagnosis of the same specialty."""
    age = visit.time.year - visit.patient.birth_date.year  # roughly: the table's youngest ages are coarse
    others = [d for d in DIAGNOSES if d[0] != visit.diagnosis and d[1] == _specialty(visit.diagnosis) and age >= d[3]]
    change = rng.choice(("charges", "charges", "charges", "diagnosis", "both")) if others else "charges"
    diagnosis = rng.choice(others)[0] if change in ("diagnosis", "both") else visit.diagnosis
    charges = visit.charges_fen
    if change in ("charges", "both"):
        ranges = CHARGES["hospital"]
        kept = dict(charges)
        kept["drugs"] = rng.randint(*ranges["drugs"])
        extra = rng.choice(("examinations", "treatment"))
        if extra in kept:
            del kept[extra]
        else:
            kept[extra] = rng.randint(*ranges[extra])
        charges = tuple((category, kept[category]) for category in ranges if category in kept)
    return CorrectedVisit(**{f.name: getattr(visit, f.name) for f in dataclasses.fields(Visit)} | {
        "diagnosis": diagnosis, "charges_fen": charges}, replaces=visit, corrected_at=_later(visit.time, rng))


def _specialty(code: str) -> str:
    return next(d[1] for d in DIAGNOSES if d[0] == code)


def plan_defects(ctx: MonthContext) -> list:
    """The month's corrections, cancellations, flawed and invalid documents of a hospital (and its late
    visits flagged ``send_delay = 1`` in place)."""
    if ctx.member.kind != "hospital":
        return []
    visits = [e for e in ctx.planned if type(e) is Visit]
    if not visits:
        return []
    rng = random.Random(f"{ctx.seed}:defects:{ctx.member.code}:{ctx.year}-{ctx.month:02d}")
    stem = f"{ctx.member.code}-SYN-{{}}-{ctx.year}{ctx.month:02d}-{{:05d}}"
    counts = [max(1, round(share * len(visits))) for share in (CORRECTED_SHARE, CANCELLED_SHARE, LATE_SHARE)]
    chosen = rng.sample(range(len(visits)), min(sum(counts), len(visits)))
    corrected = [visits[i] for i in sorted(chosen[:counts[0]])]
    cancelled = [visits[i] for i in sorted(chosen[counts[0]:counts[0] + counts[1]])]
    late = [visits[i] for i in sorted(chosen[counts[0] + counts[1]:])]
    for visit in late:
        object.__setattr__(visit, "send_delay", 1)  # a flag on the one message, not another event
    events: list = [_corrected(visit, rng) for visit in corrected]
    events += [VisitCancellation(stem.format("CX", n), visit.institution, visit.person_id, visit,
                                 _later(visit.time, rng)) for n, visit in enumerate(cancelled, start=1)]
    base = rng.choice(visits)
    born = base.time.date() + timedelta(days=rng.randrange(1, 365))
    events.append(FlawedVisit(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Visit)} | {
        "record_id": stem.format("DV", 1)}, birth_date=born))
    identified = [v for v in visits if v.patient.resident_id]
    defects = rng.sample(CLINICAL_DEFECTS, INVALID_PER_MONTH) + ([MistypedIdVisit.defect] if identified else [])
    for n, defect in enumerate(defects, start=1):
        if defect == MistypedIdVisit.defect:  # a demographic defect: stored, flagged (a visit of its own)
            base = rng.choice(identified)
            events.append(MistypedIdVisit(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Visit)} | {
                "record_id": stem.format("IV", n)}))
            continue
        base = rng.choice(visits)
        events.append(InvalidDocument(stem.format("IV", n), base.institution, base.person_id, base, defect))
    return events


def send_month(event) -> str:
    """The month the loader sends ``event`` in: its own, or ``send_delay`` months after it."""
    year, month = map(int, event.month.split("-"))
    month += getattr(event, "send_delay", 0)
    return f"{year + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}"


@dataclass
class MessageTruth:
    """``truth/messages.csv``: every message of this module, and every late one, with what the hub does."""

    rows: list[tuple] = dataclasses.field(default_factory=list)

    def add(self, event) -> None:
        defect = getattr(event, "defect", None)
        if defect is None and not getattr(event, "send_delay", 0):
            return  # a plain original, sent in its month
        target = getattr(event, "cancels", None) or getattr(event, "replaces", None)
        self.rows.append((event.record_id, event.kind, getattr(event, "version", 1), event.institution, event.month,
                          send_month(event), defect or "late", getattr(event, "expected", "stored"),
                          target.record_id if target is not None else "", getattr(event, "finding", "")))

    def files(self) -> dict[str, tuple[tuple[str, ...], Iterable[tuple]]]:
        return {"messages.csv": (MESSAGE_COLUMNS, sorted(self.rows))}


PLANNERS.append(plan_defects)
TRUTHS.append(MessageTruth)

__all__ = ["CORRECTED_SHARE", "CANCELLED_SHARE", "LATE_SHARE", "INVALID_PER_MONTH", "DEFECTS", "MESSAGE_COLUMNS",
           "CorrectedVisit", "FlawedVisit", "MistypedIdVisit", "VisitCancellation", "InvalidDocument", "plan_defects", "send_month",
           "MessageTruth"]
