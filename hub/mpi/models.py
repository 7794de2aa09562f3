"""Tables of the master patient index (all prefixed ``mpi_``).

``mpi_person`` is the person with its golden-record demographics; ``mpi_identifier`` holds the
globally meaningful identifiers (resident ID, health-record and health-card numbers);
``mpi_patient_record`` is one institution's view of a patient (one row per institution and local
key) with the demographics it sent; ``mpi_review`` queues candidate pairs for a person to decide;
``mpi_merge`` (with ``mpi_merge_move``) is the history of merges and unmerges, precise enough for
an unmerge to restore exactly what a merge moved; ``mpi_merge_pending`` the merges and unmerges whose
consequences downstream of the index (the disease cases) are not yet worked out again.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime


class PersonStatus(str, enum.Enum):
    ACTIVE = "active"
    MERGED = "merged"  # retired by a merge; ``merged_into_id`` names the survivor


class LinkDecision(str, enum.Enum):
    """How a patient record came to belong to its person."""

    IDENTIFIER = "identifier"  # a resident ID / health-record / health-card number already known
    AUTO = "auto"              # probabilistic score at or above the auto-link threshold
    REVIEW = "review"          # new person created, a review item points at a likely candidate
    NEW = "new"                # no candidate: new person
    MANUAL = "manual"          # settled by a person (review accepted, merge, unmerge)


class ReviewStatus(str, enum.Enum):
    OPEN = "open"
    LINKED = "linked"      # accepted: the record's person was merged into the candidate
    REJECTED = "rejected"  # not the same person


class ReviewReason(str, enum.Enum):
    """Why a review item pairs a record with a candidate person."""

    SCORE = "score"              # the demographics score in the review band, or ambiguity
    IDENTIFIER = "identifier"    # an identifier of the record is held by the candidate (or contradicts it)
    NEAR_MISS = "near-miss"      # the record's invalid ID is one slip from the candidate's, indexed later
    ID_CONFLICT = "id-conflict"  # the record names two valid resident IDs; the candidate holds one


class MergeKind(str, enum.Enum):
    MERGE = "merge"
    UNMERGE = "unmerge"


class Person(Base):
    """One natural person across every institution; the golden-record demographics."""

    __tablename__ = "mpi_person"
    __table_args__ = (
        Index("ix_mpi_person_birth_date", "birth_date"),
        Index("ix_mpi_person_name_pinyin", "name_pinyin", "birth_date"),
        Index("ix_mpi_person_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(8), default=PersonStatus.ACTIVE.value)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("mpi_person.id"), nullable=True)
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name_pinyin: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sex: Mapped[str | None] = mapped_column(String(1), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    division: Mapped[str | None] = mapped_column(String(6), nullable=True)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PersonIdentifier(Base):
    """A globally meaningful identifier of a person; (root, value) names one person only."""

    __tablename__ = "mpi_identifier"
    __table_args__ = (UniqueConstraint("root", "value", name="uq_mpi_identifier_root_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    root: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(64))


class PatientRecord(Base):
    """An institution's patient (institution + local key) with the demographics it sent."""

    __tablename__ = "mpi_patient_record"
    __table_args__ = (
        UniqueConstraint("institution", "local_key", name="uq_mpi_patient_record_institution_local_key"),
        Index("ix_mpi_patient_record_birth_date", "birth_date"),
        Index("ix_mpi_patient_record_name_pinyin", "name_pinyin", "birth_date"),
        Index("ix_mpi_patient_record_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution: Mapped[str] = mapped_column(String(64))
    local_key: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name_pinyin: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sex: Mapped[str | None] = mapped_column(String(1), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    division: Mapped[str | None] = mapped_column(String(6), nullable=True)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resident_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReviewItem(Base):
    """A candidate pair for a person to settle: is this record's person the candidate person?"""

    __tablename__ = "mpi_review"
    __table_args__ = (Index("ix_mpi_review_status", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_record_id: Mapped[int] = mapped_column(ForeignKey("mpi_patient_record.id"), index=True)
    candidate_person_id: Mapped[int] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(8), default=ReviewStatus.OPEN.value)
    # why the pair is offered: ReviewReason's value (NULL on items older than migration 0012)
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeantIdentifier(Base):
    """A valid resident ID a patient record's untrusted one may mean (one slip from its invalid ID, or one
    of its two conflicting IDs), written with the record while nobody holds it: when that ID is later
    indexed for a person, one indexed look-up finds the records to reconsider (the reverse near-miss)."""

    __tablename__ = "mpi_meant_id"
    __table_args__ = (Index("ix_mpi_meant_id_value", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_record_id: Mapped[int] = mapped_column(ForeignKey("mpi_patient_record.id"))
    reason: Mapped[str] = mapped_column(String(16))  # ReviewReason: near-miss | id-conflict
    typed: Mapped[str] = mapped_column(String(64))   # the untrusted value as kept (an invalid ID, or the pair)
    value: Mapped[str] = mapped_column(String(18))   # the valid resident ID it may mean


class MergeRecord(Base):
    """One merge or unmerge; an unmerge names the merge it undoes."""

    __tablename__ = "mpi_merge"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    survivor_id: Mapped[int] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    retired_id: Mapped[int] = mapped_column(ForeignKey("mpi_person.id"), index=True)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("mpi_merge.id"), nullable=True, unique=True)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class MergeMove(Base):
    """What a merge moved from the retired person: patient records and identifiers (by id)."""

    __tablename__ = "mpi_merge_move"
    __table_args__ = (Index("ix_mpi_merge_move_merge_id", "merge_id", "item_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("mpi_merge.id"))
    item_kind: Mapped[str] = mapped_column(String(16))  # "patient_record" | "identifier"
    item_id: Mapped[int] = mapped_column(Integer)


class PendingMerge(Base):
    """A merge or unmerge not yet taken up downstream of the index: written in the merge's transaction,
    deleted in the one that works out again what depends on its two persons (the workflows' disease cases,
    at the runner's next pass). A queue, not a mark over ``mpi_merge.id``: on PostgreSQL a merge can commit
    after a later-numbered one, and a mark would pass over it for good."""

    __tablename__ = "mpi_merge_pending"
    merge_id: Mapped[int] = mapped_column(ForeignKey("mpi_merge.id"), primary_key=True, autoincrement=False)


__all__ = ["PersonStatus", "LinkDecision", "ReviewStatus", "ReviewReason", "MergeKind", "Person", "PersonIdentifier",
           "PatientRecord", "ReviewItem", "MeantIdentifier", "MergeRecord", "MergeMove", "PendingMerge"]
