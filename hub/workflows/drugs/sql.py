"""The drug workflow's queries: a batch's movement and dispense lines, the batches some documents touch."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...mpi.models import PatientRecord
from ...records.models import DrugMovement, Medication, RecordDocument
from .ledger import DispenseLine, MovementLine

DISPENSE = "dispense"


def movement_lines(session: Session, *, batch: str, drug: str | None = None) -> list[MovementLine]:
    """Every stored movement line of ``batch`` (of ``drug`` if given)."""
    query = (select(DrugMovement.drug_code, DrugMovement.batch_number, DrugMovement.movement_type,
                    DrugMovement.from_code, DrugMovement.from_kind, DrugMovement.to_code, DrugMovement.to_kind,
                    DrugMovement.quantity, DrugMovement.expiry_date, DrugMovement.moved_at,
                    DrugMovement.institution, RecordDocument.document_id)
             .join(RecordDocument, RecordDocument.id == DrugMovement.document_ref)
             .where(DrugMovement.batch_number == batch).order_by(DrugMovement.moved_at, DrugMovement.id))
    if drug is not None:
        query = query.where(DrugMovement.drug_code == drug)
    return [MovementLine(r.drug_code, r.batch_number, r.movement_type, r.from_code, r.from_kind, r.to_code,
                         r.to_kind, r.quantity, r.expiry_date, r.moved_at, r.institution, r.document_id)
            for r in session.execute(query)]


def dispense_lines(session: Session, *, batch: str, drug: str | None = None) -> list[DispenseLine]:
    """Every stored dispense line of ``batch`` (of ``drug`` if given)."""
    query = (select(Medication.drug_code, Medication.batch_number, Medication.institution, Medication.quantity,
                    Medication.at, Medication.document_ref, Medication.person_id)
             .where(Medication.kind == DISPENSE, Medication.batch_number == batch)
             .order_by(Medication.at, Medication.id))
    if drug is not None:
        query = query.where(Medication.drug_code == drug)
    return [DispenseLine(r.drug_code, r.batch_number, r.institution, r.quantity, r.at, r.document_ref, r.person_id)
            for r in session.execute(query)]


def batches_of(session: Session, document_row_ids: Iterable[int]) -> list[tuple[int, str, str]]:
    """(document row id, drug, batch) of every movement or dispense line of these documents."""
    ids = sorted(set(document_row_ids))
    found: set[tuple[int, str, str]] = set()
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        found.update(session.execute(select(DrugMovement.document_ref, DrugMovement.drug_code,
                                            DrugMovement.batch_number)
                                     .where(DrugMovement.document_ref.in_(part)).distinct()).all())
        found.update(session.execute(select(Medication.document_ref, Medication.drug_code, Medication.batch_number)
                                     .where(Medication.document_ref.in_(part), Medication.kind == DISPENSE,
                                            Medication.batch_number.is_not(None)).distinct()).all())
    return sorted(found)


def drugs_of(session: Session, *, batch: str) -> list[str]:
    """The drugs a batch number is known under (movements or dispenses)."""
    moved = set(session.scalars(select(DrugMovement.drug_code).where(DrugMovement.batch_number == batch)))
    dispensed = set(session.scalars(select(Medication.drug_code).where(Medication.kind == DISPENSE,
                                                                       Medication.batch_number == batch)))
    return sorted(moved | dispensed)


def dispensed_patients(session: Session, *, drug: str, batch: str, institution: str | None = None) -> list:
    """Each dispense line of the batch with the dispensing institution's own patient key and document id."""
    query = (select(Medication.institution, Medication.person_id, Medication.quantity, Medication.at,
                    RecordDocument.document_id, PatientRecord.local_key, PatientRecord.name)
             .join(RecordDocument, RecordDocument.id == Medication.document_ref)
             .join(PatientRecord, PatientRecord.id == Medication.patient_record_id)
             .where(Medication.kind == DISPENSE, Medication.drug_code == drug, Medication.batch_number == batch)
             .order_by(Medication.institution, Medication.at, Medication.id))
    if institution is not None:
        query = query.where(Medication.institution == institution)
    return list(session.execute(query))


__all__ = ["DISPENSE", "movement_lines", "dispense_lines", "batches_of", "drugs_of", "dispensed_patients"]
