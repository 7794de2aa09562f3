"""What a clinic's HIS holds of a visit, read from the visit's own rendered document.

The HIS formats (channel_hl7.py, channel_rows.py) are written from this record, not from the
``Visit``'s fields: whatever a kind of visit changes in its document (a corrected visit's version
and time, a flawed birth date) is what the HIS writes, so the agent builds the same document again.
A document with something the HIS formats have no place for is refused here, loudly
(``region.channel.field``), rather than sent without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from .errors import RegionError
from .model import CLINIC_DEPARTMENTS
from .visits import CHINA, DOC, OUTPATIENT_ROOT, RESIDENT_ROOT

# the department codes a community member's HIS knows: standard 诊疗科目 code → registry code
STANDARD_DEPARTMENTS = {standard: code for code, _, standard, _ in CLINIC_DEPARTMENTS}
_CARRIED_IDS = (RESIDENT_ROOT, OUTPATIENT_ROOT)


@dataclass(frozen=True)
class VisitRecord:
    """One outpatient visit as the HIS keeps it (local times in China's offset, money as text in yuan)."""

    record_id: str
    version: int
    settled: datetime              # the document's effective time
    practitioner: tuple[str, str]
    resident_id: str | None
    outpatient_no: str
    name: str
    sex: str | None                # GB/T 2261.1 code
    birth_date: str                # YYYY-MM-DD
    phone: str | None
    address: str | None
    division: str | None
    visit_time: datetime
    department: str                # registry code (QK, YF, EB)
    emergency: bool
    diagnoses: tuple[str, ...]     # ICD-10 codes, the principal first
    charges: tuple[tuple[str, str], ...]  # (category, amount in yuan)


def _refuse(record_id: str, what: str) -> RegionError:
    return RegionError("region.channel.field", "a clinic's HIS has no place for a field of this visit",
                       record_id=record_id, field=what)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(CHINA)


def visit_record(document: etree._Element) -> VisitRecord:
    """The HIS's record of the OutpatientVisit ``document``."""
    header, body = document.find(f"{DOC}header"), document.find(f"{DOC}body")
    patient = header.find(f"{DOC}patient")
    record_id = header.find(f"{DOC}id").get("extension")
    ids = {i.get("root"): i.get("extension") for i in patient.findall(f"{DOC}id")}
    if set(ids) - set(_CARRIED_IDS) or OUTPATIENT_ROOT not in ids:
        raise _refuse(record_id, "patient/id")
    department = STANDARD_DEPARTMENTS.get(body.find(f"{DOC}department").get("code"))
    if department is None:
        raise _refuse(record_id, "body/department")
    practitioner = header.find(f"{DOC}author/{DOC}practitioner")
    sex, phone, address = (patient.find(f"{DOC}{name}") for name in ("sex", "telecom", "address"))
    diagnoses = body.findall(f"{DOC}diagnosis")
    if [d.get("primary") for d in diagnoses[:1]] != ["true"] or any(d.get("primary") == "true" for d in diagnoses[1:]):
        raise _refuse(record_id, "body/diagnosis/@primary")  # a HIS lists the principal diagnosis first
    return VisitRecord(
        record_id=record_id, version=int(header.findtext(f"{DOC}version")),
        settled=_time(header.find(f"{DOC}effectiveTime").get("value")),
        practitioner=(practitioner.get("code"), practitioner.get("name")),
        resident_id=ids.get(RESIDENT_ROOT), outpatient_no=ids[OUTPATIENT_ROOT], name=patient.findtext(f"{DOC}name"),
        sex=None if sex is None else sex.get("code"), birth_date=patient.find(f"{DOC}birthDate").get("value"),
        phone=None if phone is None else phone.get("value"), address=None if address is None else address.text,
        division=None if address is None else address.get("division"),
        visit_time=_time(body.find(f"{DOC}visitTime").get("value")), department=department,
        emergency=body.findtext(f"{DOC}emergency") == "true", diagnoses=tuple(d.get("code") for d in diagnoses),
        charges=tuple((c.get("category"), c.get("amount")) for c in body.findall(f"{DOC}charges/{DOC}charge")))


__all__ = ["VisitRecord", "STANDARD_DEPARTMENTS", "visit_record"]
