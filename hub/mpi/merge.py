"""Merge two persons, undo a merge exactly, and settle review-queue items.

Every table in ``Base.metadata`` with both a ``person_id`` and a ``patient_record_id`` column
holds health records of a person through a patient record; a merge re-points them generically,
and an unmerge sends back every row whose patient record the merge moved, including rows that
arrived after the merge.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..errors import MpiError
from ..store.models import Base
from ..store.rawsql import RawSql
from .locks import hold_index
from .lookup import current_person_id
from .models import (
    LinkDecision,
    MergeKind,
    MergeMove,
    MergeRecord,
    PatientRecord,
    PendingMerge,
    Person,
    PersonIdentifier,
    PersonStatus,
    ReviewItem,
    ReviewStatus,
)
from .traits import RESIDENT_ID

_PATIENT_RECORD, _IDENTIFIER = "patient_record", "identifier"


def record_tables() -> list[Table]:
    """Tables whose rows belong to a person through a patient record (mpi_patient_record excluded)."""
    return [table for table in Base.metadata.sorted_tables
            if "person_id" in table.c and "patient_record_id" in table.c]


def _audit(session: Session, event_type: str, *, actor: str, now: datetime, reference: str,
           person_id: int | None = None) -> None:
    """An audit row naming the actor and the operation (internal ids only, never demographics)."""
    row = audit.event(event_type, member=actor[:64], detail=reference, person_id=person_id)
    row["at"] = now
    audit.record_many(session, [row])


def _active_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise MpiError("mpi.person.not_found", "no such person")
    if person.status != PersonStatus.ACTIVE.value:
        raise MpiError("mpi.conflict", "person is not active (merged)")
    return person


def _resident_ids(session: Session, person_id: int) -> set[str]:
    return set(session.scalars(select(PersonIdentifier.value).where(
        PersonIdentifier.person_id == person_id, PersonIdentifier.kind == RESIDENT_ID)))


def _chunks(values: list[int], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def merge(session: Session, *, survivor_id: int, retired_id: int, actor: str, reason: str,
          now: datetime, resolving: bool = False) -> MergeRecord:
    """Move everything of ``retired_id`` to ``survivor_id`` and retire it (merged_into the survivor).

    ``resolving``: the index's own merge, inside a resolution that holds the index shared already
    (``reconsider``); any other merge first holds the index exclusively (``locks.hold_index``).
    """
    if survivor_id == retired_id:
        raise MpiError("mpi.conflict", "a person cannot be merged into itself")
    if not resolving:
        hold_index(RawSql(session))
    session.flush()
    survivor = _active_person(session, survivor_id)
    retired = _active_person(session, retired_id)
    ids_a, ids_b = _resident_ids(session, survivor_id), _resident_ids(session, retired_id)
    if ids_a and ids_b and ids_a != ids_b:
        raise MpiError("mpi.conflict", "the persons hold different resident IDs")
    records = list(session.scalars(select(PatientRecord.id).where(PatientRecord.person_id == retired_id)))
    identifiers = list(session.scalars(select(PersonIdentifier.id).where(PersonIdentifier.person_id == retired_id)))
    session.execute(update(PatientRecord.__table__).where(PatientRecord.person_id == retired_id)
                    .values(person_id=survivor_id, updated_at=now))
    for table in record_tables():
        session.execute(update(table).where(table.c.person_id == retired_id).values(person_id=survivor_id))
    session.execute(update(PersonIdentifier.__table__).where(PersonIdentifier.person_id == retired_id)
                    .values(person_id=survivor_id))
    retired.status, retired.merged_into_id, retired.updated_at = PersonStatus.MERGED.value, survivor.id, now
    survivor.updated_at = now
    entry = MergeRecord(kind=MergeKind.MERGE.value, survivor_id=survivor_id, retired_id=retired_id,
                        actor=actor[:64], reason=reason[:200], at=now)
    session.add(entry)
    session.flush()
    session.execute(insert(PendingMerge.__table__), [{"merge_id": entry.id}])  # re-derive downstream, durably
    moves = [{"merge_id": entry.id, "item_kind": _PATIENT_RECORD, "item_id": i} for i in records]
    moves += [{"merge_id": entry.id, "item_kind": _IDENTIFIER, "item_id": i} for i in identifiers]
    if moves:
        session.execute(insert(MergeMove.__table__), moves)
    _audit(session, "mpi.merge", actor=actor, now=now, reference=f"mpi_merge:{entry.id}", person_id=survivor_id)
    session.expire_all()  # the bulk updates bypassed the identity map
    return entry


def unmerge(session: Session, *, merge_id: int, actor: str, reason: str, now: datetime) -> MergeRecord:
    """Undo a merge: the moved patient records, their health records and identifiers go back."""
    hold_index(RawSql(session))  # first, before any row: resolutions in progress finish (hub.mpi.locks)
    session.flush()
    original = session.get(MergeRecord, merge_id)
    if original is None or original.kind != MergeKind.MERGE.value:
        raise MpiError("mpi.person.not_found", "no such merge")
    if session.scalar(select(MergeRecord.id).where(MergeRecord.undoes_id == merge_id)) is not None:
        raise MpiError("mpi.conflict", "merge already undone")
    survivor = _active_person(session, original.survivor_id)
    retired = session.get(Person, original.retired_id, with_for_update=True)
    if retired.status != PersonStatus.MERGED.value or retired.merged_into_id != survivor.id:
        raise MpiError("mpi.conflict", "retired person is no longer merged into the survivor")
    moved = session.execute(select(MergeMove.item_kind, MergeMove.item_id).where(MergeMove.merge_id == merge_id)).all()
    records = [item for kind, item in moved if kind == _PATIENT_RECORD]
    identifiers = [item for kind, item in moved if kind == _IDENTIFIER]
    for part in _chunks(records):
        session.execute(update(PatientRecord.__table__).where(PatientRecord.id.in_(part))
                        .values(person_id=retired.id, updated_at=now))
        for table in record_tables():
            session.execute(update(table).where(table.c.patient_record_id.in_(part)).values(person_id=retired.id))
    for part in _chunks(identifiers):
        session.execute(update(PersonIdentifier.__table__).where(PersonIdentifier.id.in_(part))
                        .values(person_id=retired.id))
    retired.status, retired.merged_into_id, retired.updated_at = PersonStatus.ACTIVE.value, None, now
    survivor.updated_at = now
    entry = MergeRecord(kind=MergeKind.UNMERGE.value, survivor_id=survivor.id, retired_id=retired.id,
                        undoes_id=merge_id, actor=actor[:64], reason=reason[:200], at=now)
    session.add(entry)
    session.flush()
    session.execute(insert(PendingMerge.__table__), [{"merge_id": entry.id}])
    _audit(session, "mpi.unmerge", actor=actor, now=now, reference=f"mpi_merge:{entry.id}", person_id=retired.id)
    session.expire_all()
    return entry


def link(session: Session, *, review_id: int, accept: bool, actor: str, now: datetime) -> ReviewItem:
    """Settle a review item: accept merges the record's person into the candidate; reject closes it."""
    hold_index(RawSql(session))  # before the review row's lock, as merge takes it (hub.mpi.locks)
    session.flush()
    review = session.get(ReviewItem, review_id, with_for_update=True)
    if review is None:
        raise MpiError("mpi.person.not_found", "no such review item")
    if review.status != ReviewStatus.OPEN.value:
        raise MpiError("mpi.conflict", "review item already settled")
    record_id, candidate_id = review.patient_record_id, review.candidate_person_id
    if accept:
        record_person = session.scalar(select(PatientRecord.person_id).where(PatientRecord.id == record_id))
        survivor = current_person_id(session, candidate_id)
        if record_person != survivor:
            merge(session, survivor_id=survivor, retired_id=record_person, actor=actor,
                  reason=f"review {review_id} accepted", now=now)
        session.execute(update(PatientRecord.__table__).where(PatientRecord.id == record_id)
                        .values(decision=LinkDecision.MANUAL.value, updated_at=now))
    review = session.get(ReviewItem, review_id)
    review.status = (ReviewStatus.LINKED if accept else ReviewStatus.REJECTED).value
    review.actor, review.updated_at = actor[:64], now
    _audit(session, "mpi.review.accept" if accept else "mpi.review.reject", actor=actor, now=now,
           reference=f"mpi_review:{review_id}", person_id=candidate_id)
    session.flush()
    return review


__all__ = ["merge", "unmerge", "link", "record_tables"]
