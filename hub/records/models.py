"""The health-record store (OLTP): one row per document, and the normalized rows it produced.

Every normalized row points at its ``record_document`` (and through it at the inbox message that
carried the signed bytes: lineage for non-repudiation). Rows about a person also carry
``person_id`` (the master patient index's person, re-pointed on merge) and ``patient_record_id``
(the sending institution's own patient record, which is what an unmerge follows).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ..exchange.models import Message
from ..store.models import Base, UTCDateTime

Money = Numeric(14, 2)
Quantity = Numeric(14, 3)


class DocumentStatus(str, enum.Enum):
    CURRENT = "current"
    CANCELLED = "cancelled"


class RecordDocument(Base):
    """One member document, at its newest accepted version."""

    __tablename__ = "record_document"
    __table_args__ = (UniqueConstraint("institution", "id_root", "document_id"),
                      Index("ix_record_document_person", "person_id", "effective_time"),
                      # by type, in the order the workflows' runner reads changes (hub/workflows/runner.py)
                      Index("ix_record_document_type_updated", "document_type", "updated_at", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution: Mapped[str] = mapped_column(String(64))
    id_root: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    document_type: Mapped[str] = mapped_column(String(40))
    schema_version: Mapped[int] = mapped_column(Integer)
    effective_time: Mapped[datetime] = mapped_column(UTCDateTime())
    practitioner_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("mpi_person.id"), nullable=True)
    patient_record_id: Mapped[int | None] = mapped_column(ForeignKey("mpi_patient_record.id"), nullable=True,
                                                          index=True)
    message_row_id: Mapped[int] = mapped_column(ForeignKey(Message.id), index=True)  # the signed message
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class _DocumentRow:
    """Columns every normalized row has: its document, institution and when it happened."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution: Mapped[str] = mapped_column(String(64))

    @declared_attr
    def document_ref(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("record_document.id", ondelete="CASCADE"), index=True)


class _PersonRow(_DocumentRow):
    """A normalized row about a person (found by merge/unmerge through these two columns)."""

    @declared_attr
    def person_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("mpi_person.id"), index=True)

    @declared_attr
    def patient_record_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("mpi_patient_record.id"), index=True)


class Encounter(_PersonRow, Base):
    """An outpatient visit (门急诊) or an inpatient stay (住院)."""

    __tablename__ = "record_encounter"
    kind: Mapped[str] = mapped_column(String(16))  # outpatient | emergency | inpatient
    department_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    practitioner_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ward: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bed_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    discharge_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    total_amount: Mapped[Decimal] = mapped_column(Money)


class Diagnosis(_PersonRow, Base):
    __tablename__ = "record_diagnosis"
    code: Mapped[str] = mapped_column(String(16), index=True)
    code_system: Mapped[str] = mapped_column(String(32))
    display: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_primary: Mapped[bool] = mapped_column(Boolean)
    diagnosed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    context: Mapped[str] = mapped_column(String(24))  # the document type it came from


class Charge(_PersonRow, Base):
    __tablename__ = "record_charge"
    category: Mapped[str] = mapped_column(String(16))  # drugs | examinations | treatment | other
    amount: Mapped[Decimal] = mapped_column(Money)
    charged_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Procedure(_PersonRow, Base):
    __tablename__ = "record_procedure"
    code: Mapped[str] = mapped_column(String(32))
    code_system: Mapped[str | None] = mapped_column(String(32), nullable=True)
    display: Mapped[str | None] = mapped_column(String(200), nullable=True)
    performed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class LabResult(_PersonRow, Base):
    __tablename__ = "record_lab_result"
    test_code: Mapped[str] = mapped_column(String(32))
    test_system: Mapped[str | None] = mapped_column(String(32), nullable=True)
    test_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    value: Mapped[str] = mapped_column(String(200))
    numeric_value: Mapped[float | None] = mapped_column(nullable=True)
    unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reference_low: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reference_high: Mapped[str | None] = mapped_column(String(32), nullable=True)
    abnormal_flag: Mapped[str | None] = mapped_column(String(8), nullable=True)
    specimen_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Medication(_PersonRow, Base):
    """A prescribed (处方) or dispensed (发药) drug line."""

    __tablename__ = "record_medication"
    kind: Mapped[str] = mapped_column(String(16))  # prescription | dispense
    drug_code: Mapped[str] = mapped_column(String(32), index=True)
    drug_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    specification: Mapped[str | None] = mapped_column(String(100), nullable=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    batch_number: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    dosage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DrugMovement(_DocumentRow, Base):
    """A drug batch moving between supplier, distributor and institution (no person)."""

    __tablename__ = "record_drug_movement"
    movement_type: Mapped[str] = mapped_column(String(16))  # receipt | transfer | return
    from_code: Mapped[str] = mapped_column(String(64))
    from_kind: Mapped[str] = mapped_column(String(16))
    to_code: Mapped[str] = mapped_column(String(64))
    to_kind: Mapped[str] = mapped_column(String(16))
    drug_code: Mapped[str] = mapped_column(String(32))
    batch_number: Mapped[str] = mapped_column(String(64), index=True)
    expiry_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Referral(_PersonRow, Base):
    __tablename__ = "record_referral"
    direction: Mapped[str] = mapped_column(String(8))  # up | down
    to_institution: Mapped[str] = mapped_column(String(64), index=True)
    department_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DiseaseReport(_PersonRow, Base):
    """传染病报告卡."""

    __tablename__ = "record_disease_report"
    disease_code: Mapped[str] = mapped_column(String(16), index=True)
    disease_class: Mapped[str] = mapped_column(String(4))  # A 甲 | B 乙 | C 丙
    case_classification: Mapped[str] = mapped_column(String(8))
    onset_date: Mapped[date] = mapped_column(Date)
    diagnosis_date: Mapped[date] = mapped_column(Date)
    occupation_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    division: Mapped[str] = mapped_column(String(12), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Immunization(_PersonRow, Base):
    __tablename__ = "record_immunization"
    vaccine_code: Mapped[str] = mapped_column(String(32))
    dose_number: Mapped[int] = mapped_column(Integer)
    administered_on: Mapped[date] = mapped_column(Date)
    batch_number: Mapped[str] = mapped_column(String(64))
    manufacturer: Mapped[str | None] = mapped_column(String(200), nullable=True)


class MaternalCheckup(_PersonRow, Base):
    __tablename__ = "record_maternal_checkup"
    checkup_type: Mapped[str] = mapped_column(String(16))  # antenatal | postnatal
    checkup_date: Mapped[date] = mapped_column(Date)
    gestational_weeks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    systolic: Mapped[int | None] = mapped_column(Integer, nullable=True)
    diastolic: Mapped[int | None] = mapped_column(Integer, nullable=True)
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)


class ChildCheckup(_PersonRow, Base):
    __tablename__ = "record_child_checkup"
    checkup_date: Mapped[date] = mapped_column(Date)
    age_months: Mapped[int] = mapped_column(Integer)
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    height_cm: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    head_circumference_cm: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    development: Mapped[str | None] = mapped_column(String(16), nullable=True)


class InstitutionStats(_DocumentRow, Base):
    """InstitutionMonthlyStats: the inputs of the bureau's hospital indicators."""

    __tablename__ = "record_institution_stats"
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    staff_on_duty: Mapped[int] = mapped_column(Integer)
    approved_beds: Mapped[int] = mapped_column(Integer)
    open_beds: Mapped[int] = mapped_column(Integer)
    fixed_assets: Mapped[Decimal] = mapped_column(Money)
    outpatient_visits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inpatient_discharges: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revenue_drugs: Mapped[Decimal] = mapped_column(Money)
    revenue_examinations: Mapped[Decimal] = mapped_column(Money)
    revenue_treatment: Mapped[Decimal] = mapped_column(Money)
    revenue_other: Mapped[Decimal] = mapped_column(Money)


class RecordFinding(_DocumentRow, Base):
    """A data-quality finding of a kept document (``protocol.findings``: code and field, never a value).

    Rows of the document like the others: replaced with a new version, gone with a cancellation."""

    __tablename__ = "record_finding"

    code: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(300))


ROW_MODELS = {model.__tablename__: model for model in (
    Encounter, Diagnosis, Charge, Procedure, LabResult, Medication, DrugMovement, Referral, DiseaseReport,
    Immunization, MaternalCheckup, ChildCheckup, InstitutionStats, RecordFinding)}
PERSON_TABLES = frozenset(name for name, model in ROW_MODELS.items() if issubclass(model, _PersonRow))

__all__ = ["DocumentStatus", "RecordDocument", "Encounter", "Diagnosis", "Charge", "Procedure", "LabResult",
           "Medication", "DrugMovement", "Referral", "DiseaseReport", "Immunization", "MaternalCheckup",
           "ChildCheckup", "InstitutionStats", "RecordFinding", "ROW_MODELS", "PERSON_TABLES"]
