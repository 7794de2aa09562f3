"""The surveillance workflow's tables: disease cases (one per person, disease and episode) and which
report cards each case is made of."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...store.models import Base, UTCDateTime


class DiseaseCase(Base):
    """One case: the report cards of one person (the MPI's) and disease within one episode
    (``hub.workflows.surveillance.cases.EPISODE_DAYS``), whichever institutions sent them."""

    __tablename__ = "workflow_disease_case"
    __table_args__ = (Index("ix_workflow_disease_case_series", "disease_code", "district", "first_diagnosis"),
                      Index("ix_workflow_disease_case_person", "person_id", "disease_code"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(Integer)
    disease_code: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(12))  # the current-address division of the case's first card
    first_onset: Mapped[date] = mapped_column(Date)
    first_diagnosis: Mapped[date] = mapped_column(Date)
    first_report_at: Mapped[datetime] = mapped_column(UTCDateTime())
    institutions: Mapped[str] = mapped_column(String(400))  # the reporting institutions' codes, sorted, comma-joined
    card_count: Mapped[int] = mapped_column(Integer)
    first_card_row_id: Mapped[int] = mapped_column(Integer)  # the first card (onset order): the case's fact in the mart
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseCard(Base):
    """A current report card (its ``record_document`` row) and the case it belongs to."""

    __tablename__ = "workflow_disease_case_card"
    document_row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_disease_case.id", ondelete="CASCADE"), index=True)


__all__ = ["DiseaseCase", "CaseCard"]
