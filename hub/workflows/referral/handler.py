"""The referral documents move the cases (a handler of the workflow runner).

- An up-referral (``direction`` up) to a registered, active hospital opens a case at it. To anything else
  (a clinic, a bureau, an unknown code, its own author) it opens none: the document is kept like every
  document, and its sender is told (``referral.refused``, code ``workflow.referral.invalid``, field
  ``toInstitution``).
- A new version naming a hospital the referral was never at is the sender's ``correct`` move (the state
  table decides: while ``requested`` the case moves there; later it is refused and the sender told). A
  version naming a hospital it was at changes nothing (a redirect may have moved it on; it never goes back).
- Its cancellation is the sender's ``cancel`` move: cancelled before the patient came, recorded (the
  hospital told) after, refused into the history in a final state.
- A down-referral discharges the oldest accepted (or arrived) case of the same person from its receiver
  back to its sender: the down-referral's author is the case's hospital, its ``toInstitution`` the
  clinic, and its patient the up-referral's (``record_document.person_id``, kept right by MPI merges).
  The Referral document has no field naming the up-referral, and the hospitals' systems and the
  synthetic region send none: the pair and the person are what every down-referral carries. Once per
  document: a new version of a down-referral that discharged a case changes nothing. A down-referral
  that discharges no case still reaches the clinic (``notices.tell_down_only``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...records.models import Referral
from ...registry.models import Institution
from ..runner import DocumentChange, on_documents
from . import notices, service
from .models import ReferralCase, ReferralState

NAME = "referral.cases"


def _rows(session: Session, document_rows: list[int]) -> dict[int, Referral]:
    if not document_rows:
        return {}
    return {row.document_ref: row for row in session.scalars(
        select(Referral).where(Referral.document_ref.in_(document_rows)))}


def _known(session: Session, code: str) -> bool:
    return session.get(Institution, code) is not None


def _discharged_by(session: Session, document_row_id: int) -> bool:
    """A case was discharged by this down-referral already."""
    return session.scalar(select(ReferralCase.id).where(ReferralCase.down_document_row_id == document_row_id)
                          .limit(1)) is not None


def _up(session: Session, change: DocumentChange, row: Referral, now: datetime) -> None:
    cases = session.scalars(select(ReferralCase).where(ReferralCase.document_row_id == change.document_row_id)
                            .order_by(ReferralCase.id).with_for_update()).all()
    live = next((case for case in cases if case.state != ReferralState.REDIRECTED.value), None)
    if live is None:
        if service.is_hospital(session, row.to_institution) and row.to_institution != change.institution:
            service.open_case(session, document_row_id=change.document_row_id, sender=change.institution,
                              receiver=row.to_institution, department=row.department_code, now=now)
        else:
            service.audit_document_refusal(session, actor=change.institution, code="workflow.referral.invalid",
                                           document_row_id=change.document_row_id)
            notices.tell_refused(session, document_row_id=change.document_row_id, sender=change.institution,
                                 receiver=row.to_institution, code="workflow.referral.invalid",
                                 field="toInstitution", now=now)
        return
    if row.to_institution in {case.to_institution for case in cases}:
        return  # the same hospital, or one the referral passed through
    service.correct_by_document(session, case=live, to=row.to_institution, department=row.department_code, now=now)


def _down(session: Session, change: DocumentChange, row: Referral, now: datetime) -> None:
    if row.to_institution == change.institution or not _known(session, row.to_institution):
        return
    if _discharged_by(session, change.document_row_id):
        return
    case = service.discharge(session, sender=change.institution, receiver=row.to_institution,
                             person_id=change.person_id, down_document_row_id=change.document_row_id, now=now)
    if case is None:
        notices.tell_down_only(session, down_document_row_id=change.document_row_id, sender=change.institution,
                               to=row.to_institution, now=now)


@on_documents("Referral", name=NAME)
def referral_documents(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Open, correct, cancel or discharge the case of each changed referral document."""
    rows = _rows(session, [c.document_row_id for c in changes if not c.cancelled])
    for change in changes:
        if change.cancelled:
            case = service.live_case(session, document_row_id=change.document_row_id)
            if case is not None:
                service.cancel_by_document(session, case=case, now=now)
            continue
        row = rows.get(change.document_row_id)
        if row is not None and row.direction == "up":
            _up(session, change, row, now)
        elif row is not None and row.direction == "down":
            _down(session, change, row, now)


__all__ = ["NAME", "referral_documents"]
