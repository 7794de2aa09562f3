"""Read a person's records: document lists, one document, and the longitudinal record (多档合一).

These functions do no access control; callers go through ``access.read_personal``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.errors import HubError

from ..exchange.models import Message
from .models import (
    ChildCheckup,
    Diagnosis,
    DiseaseReport,
    DocumentStatus,
    Encounter,
    Immunization,
    LabResult,
    MaternalCheckup,
    Medication,
    Procedure,
    RecordDocument,
    Referral,
)

_DOCS = RecordDocument.__table__

# section name → (table, the column that orders it newest first)
SECTIONS = {
    "encounters": (Encounter.__table__, "start_time"),
    "diagnoses": (Diagnosis.__table__, "diagnosed_at"),
    "procedures": (Procedure.__table__, "performed_on"),
    "medications": (Medication.__table__, "at"),
    "labs": (LabResult.__table__, "reported_at"),
    "immunizations": (Immunization.__table__, "administered_on"),
    "disease_reports": (DiseaseReport.__table__, "reported_at"),
    "referrals": (Referral.__table__, "referred_at"),
    "maternal_checkups": (MaternalCheckup.__table__, "checkup_date"),
    "child_checkups": (ChildCheckup.__table__, "checkup_date"),
}
_HIDDEN = {"id", "person_id", "patient_record_id", "document_ref"}


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value.__class__.__name__ == "Decimal":
        return str(value)
    return value


def _rows(result) -> list[dict]:
    """Result rows as JSON-ready dicts: dates and times in ISO 8601, amounts as strings."""
    keys = list(result.keys())
    rows = [list(row) for row in result]
    if rows:
        for index, value in enumerate(rows[0]):
            if isinstance(value, (date, datetime)) or value.__class__.__name__ == "Decimal" or value is None:
                column = [row[index] for row in rows]
                for row, converted in zip(rows, map(_plain_or_none, column)):
                    row[index] = converted
    return [dict(zip(keys, row)) for row in rows]


def _plain_or_none(value):
    return None if value is None else _plain(value)


def longitudinal_record(session: Session, person_id: int) -> dict[str, list[dict]]:
    """Every encounter, diagnosis, prescription, lab, immunization … of the person, newest first."""
    record: dict[str, list[dict]] = {}
    for section, (table, order) in SECTIONS.items():
        columns = [c for c in table.c if c.name not in _HIDDEN]
        record[section] = _rows(session.execute(
            select(*columns, _DOCS.c.document_id, _DOCS.c.id_root, _DOCS.c.document_type)
            .join(_DOCS, _DOCS.c.id == table.c.document_ref)
            .where(table.c.person_id == person_id)
            .order_by(table.c[order].desc(), table.c.id.desc())))
    return record


def _bounds(date_from: date | None, date_to: date | None):
    low = datetime.combine(date_from, time.min, timezone.utc) if date_from else None
    high = datetime.combine(date_to, time.max, timezone.utc) if date_to else None
    return low, high


def documents_of(session: Session, person_id: int, *, document_type: str | None = None,
                 institution: str | None = None, date_from: date | None = None,
                 date_to: date | None = None) -> list[dict]:
    """The person's current documents (metadata only), newest first."""
    query = select(_DOCS.c.institution, _DOCS.c.id_root, _DOCS.c.document_id, _DOCS.c.version,
                   _DOCS.c.document_type, _DOCS.c.effective_time).where(
        _DOCS.c.person_id == person_id, _DOCS.c.status == DocumentStatus.CURRENT.value)
    if document_type:
        query = query.where(_DOCS.c.document_type == document_type)
    if institution:
        query = query.where(_DOCS.c.institution == institution)
    low, high = _bounds(date_from, date_to)
    if low:
        query = query.where(_DOCS.c.effective_time >= low)
    if high:
        query = query.where(_DOCS.c.effective_time <= high)
    return _rows(session.execute(query.order_by(_DOCS.c.effective_time.desc(), _DOCS.c.id.desc())))


def find_document(session: Session, *, institution: str, id_root: str, document_id: str) -> RecordDocument:
    """The stored document row (any status); ``registry.not_found`` if unknown."""
    doc = session.scalars(select(RecordDocument).where(RecordDocument.institution == institution,
                                                       RecordDocument.id_root == id_root,
                                                       RecordDocument.document_id == document_id)).first()
    if doc is None:
        raise HubError("registry.not_found", "no such document")
    return doc


def document_bytes(session: Session, doc: RecordDocument) -> bytes:
    """The document as received (canonical bytes of the signed message it came in)."""
    return bytes(session.get(Message, doc.message_row_id).document)


def resident_summary(person) -> dict:
    """What a resident query returns of a person (PDQ demographics; no phone or street address)."""
    return {"person_id": person.id, "name": person.name, "sex": person.sex,
            "birth_date": person.birth_date.isoformat() if person.birth_date else None, "division": person.division}


__all__ = ["resident_summary", "SECTIONS", "longitudinal_record", "documents_of", "find_document", "document_bytes"]
