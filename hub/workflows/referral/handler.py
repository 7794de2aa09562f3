"""The referral documents move the cases (a handler of the workflow runner).

- An up-referral (``direction`` up) to a registered institution opens a case at it (once per document:
  a new version of the document changes nothing here).
- Its cancellation cancels the case while the table allows (requested or accepted).
- A down-referral discharges the oldest accepted (or arrived) case of the same person from its receiver
  back to its sender: the down-referral's author is the case's hospital, its ``toInstitution`` the
  clinic, and its patient the up-referral's (``record_document.person_id``, kept right by MPI merges).
  The Referral document has no field naming the up-referral, and the hospitals' systems and the
  synthetic region send none: the pair and the person are what every down-referral carries. Once per
  document: a new version of a down-referral that discharged a case changes nothing.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...records.models import Referral
from ...registry.models import Institution
from ..runner import DocumentChange, on_documents
from . import service
from .models import ReferralCase

NAME = "referral.cases"


def _rows(session: Session, document_rows: list[int]) -> dict[int, Referral]:
    if not document_rows:
        return {}
    return {row.document_ref: row for row in session.scalars(
        select(Referral).where(Referral.document_ref.in_(document_rows)))}


def _known(session: Session, code: str) -> bool:
    return session.get(Institution, code) is not None


def _handled(session: Session, document_row_id: int) -> bool:
    """A case was opened or discharged by this document already."""
    return session.scalar(select(ReferralCase.id).where(
        (ReferralCase.document_row_id == document_row_id) | (ReferralCase.down_document_row_id == document_row_id))
        .limit(1)) is not None


@on_documents("Referral", name=NAME)
def referral_documents(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Open, cancel or discharge the case of each changed referral document."""
    rows = _rows(session, [c.document_row_id for c in changes if not c.cancelled])
    for change in changes:
        if change.cancelled:
            case = service.live_case(session, document_row_id=change.document_row_id)
            if case is not None:
                service.cancel_by_document(session, case=case, now=now)
            continue
        row = rows.get(change.document_row_id)
        if row is None or _handled(session, change.document_row_id):
            continue
        if row.direction == "up" and row.to_institution != change.institution and _known(session, row.to_institution):
            service.open_case(session, document_row_id=change.document_row_id, sender=change.institution,
                              receiver=row.to_institution, department=row.department_code, now=now)
        elif row.direction == "down":
            service.discharge(session, sender=change.institution, receiver=row.to_institution,
                              person_id=change.person_id, down_document_row_id=change.document_row_id, now=now)


__all__ = ["NAME", "referral_documents"]
