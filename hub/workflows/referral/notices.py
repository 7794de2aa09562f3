"""What each party of a referral is told: a ``referral`` reply (``wf:Notification``) at every move.

The receiving hospital is a care provider of the referred patient (docs/records.md: a care provider
reads another's patient for the purpose ``referral``): its request carries the record summary (``wf:Referral``: the patient's identity, the reason, diagnoses and the
clinic's summary). The clinic, the patient's own care provider, gets the down-referral's diagnoses
and care plan at discharge. Each summary is sent only if the records' access rules let the recipient
read the patient for that purpose (a receiver that is no active care provider gets the codes only), and
each one sent is audited as a read (``record.read.referral``). Other moves carry codes and times only.
"""
from __future__ import annotations

from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.errors import HubError
from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc

from ... import audit
from ...mpi.models import PatientRecord
from ...records import access
from ...records.models import Diagnosis, RecordDocument, Referral
from .. import notify
from .models import ReferralCase

REPLY_KIND = "referral"
PURPOSE = "referral"  # the purpose of use a referral's summary is disclosed for (docs/records.md)


def _element(parent: etree._Element, name: str, text=None, **attributes) -> etree._Element:
    element = etree.SubElement(parent, q(WORKFLOW, name), {k: str(v) for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def summary(session: Session, document_row_id: int) -> etree._Element | None:
    """The ``wf:Referral`` record summary of a referral document (None if its rows are gone)."""
    document = session.get(RecordDocument, document_row_id)
    row = session.scalars(select(Referral).where(Referral.document_ref == document_row_id)).first()
    if document is None or row is None:
        return None
    root = etree.Element(q(WORKFLOW, "Referral"))
    _element(root, "Document", institution=document.institution, root=document.id_root,
             extension=document.document_id)
    patient = session.get(PatientRecord, document.patient_record_id) if document.patient_record_id else None
    if patient is not None:
        who = _element(root, "Patient")
        for name, value in (("Name", patient.name), ("ResidentId", patient.resident_id), ("Sex", patient.sex),
                            ("BirthDate", patient.birth_date.isoformat() if patient.birth_date else None)):
            if value:
                _element(who, name, value)
    if row.department_code:
        _element(root, "Department", row.department_code)
    _element(root, "ReferredAt", format_utc(row.referred_at))
    if row.reason:
        _element(root, "Reason", row.reason)
    for diagnosis in session.scalars(select(Diagnosis).where(Diagnosis.document_ref == document_row_id)
                                     .order_by(Diagnosis.is_primary.desc(), Diagnosis.id)).all()[:32]:
        _element(root, "Diagnosis", code=diagnosis.code, codeSystem=diagnosis.code_system,
                 displayName=diagnosis.display, primary="true" if diagnosis.is_primary else "false")
    if row.summary:
        _element(root, "Summary", row.summary)
    return root


def facts(case: ReferralCase, *, redirect_to: str | None = None) -> tuple[tuple[str, str], ...]:
    """Codes and times of the case (what every notification of it may carry)."""
    found = [("department", case.department_code), ("from", case.from_institution), ("to", case.to_institution),
             ("reason", case.reason_code), ("redirected_to", redirect_to),
             ("appointment", format_utc(case.appointment_at) if case.appointment_at else None),
             ("due", format_utc(case.due_at) if case.due_at else None)]
    return tuple((code, value) for code, value in found if value)


def notification(session: Session, case: ReferralCase, *, now: datetime, summary_of: int | None = None,
                 redirect_to: str | None = None, kind: str | None = None) -> notify.Notification:
    """The case's news: kind ``referral.<state>`` unless ``kind`` says otherwise (``referral.withdrawn``)."""
    document = session.get(RecordDocument, case.document_row_id)
    subjects = [("referral", str(case.id))]
    if document is not None:
        subjects.append(("document", document.document_id))
    return notify.Notification(kind=kind or f"referral.{case.state}", topic="referral", subjects=tuple(subjects),
                               state=case.state, time=now, institution=case.from_institution,
                               facts=facts(case, redirect_to=redirect_to),
                               referral=summary(session, summary_of) if summary_of else None)


def may_see(session: Session, *, member: str, document_row_id: int, now: datetime) -> bool:
    """Whether ``member`` may read the identified patient of the document for the purpose ``referral``
    (the records' access rules, ``hub.records.access``); a disclosure allowed is audited as a read."""
    person_id = session.scalar(select(RecordDocument.person_id).where(RecordDocument.id == document_row_id))
    if person_id is None:
        return False
    try:
        access.decide(session, requester=access.requester_for(session, member, now=now), person_id=person_id,
                      purpose=PURPOSE)
    except HubError:
        return False
    audit.record(session, "record.read.referral", member=member, person_id=person_id, purpose=PURPOSE,
                 detail=f"record_document:{document_row_id}")
    return True


def tell(session: Session, case: ReferralCase, *, to: str, now: datetime, summary: bool = False,
         redirect_to: str | None = None, down_document_row_id: int | None = None, kind: str | None = None) -> None:
    """Queue the case's news for ``to``: the up-referral's summary for a receiver being asked, the
    down-referral's for the clinic at discharge (each only if the access rules let ``to`` see it)."""
    summary_of = case.document_row_id if summary else down_document_row_id
    if summary_of is not None and not may_see(session, member=to, document_row_id=summary_of, now=now):
        summary_of = None
    notify.send(session, member=to, kind=REPLY_KIND, now=now,
                notification=notification(session, case, now=now, summary_of=summary_of, redirect_to=redirect_to,
                                          kind=kind))


def _document_id(session: Session, document_row_id: int) -> str:
    return session.scalar(select(RecordDocument.document_id).where(RecordDocument.id == document_row_id)) or "?"


def tell_down_only(session: Session, *, down_document_row_id: int, sender: str, to: str, now: datetime) -> None:
    """A down-referral that discharged no case still reaches its clinic: ``referral.discharged`` about the
    document alone, with its diagnoses and care plan if the access rules let the clinic read the patient."""
    shown = may_see(session, member=to, document_row_id=down_document_row_id, now=now)
    notify.send(session, member=to, kind=REPLY_KIND, now=now, notification=notify.Notification(
        kind="referral.discharged", topic="referral",
        subjects=(("document", _document_id(session, down_document_row_id)),), state="discharged", time=now,
        institution=to, facts=(("from", sender), ("to", to)),
        referral=summary(session, down_document_row_id) if shown else None))


def tell_refused(session: Session, *, document_row_id: int, sender: str, receiver: str, code: str, now: datetime,
                 field: str | None = None, case: ReferralCase | None = None) -> None:
    """Tell ``sender`` what its referral document asked that the hub did not do (``referral.refused``: the
    refusal's code and field, the receiver it named); the document itself is kept."""
    subjects = ((("referral", str(case.id)),) if case is not None else ()) + (
        ("document", _document_id(session, document_row_id)),)
    found = (("code", code), ("field", field), ("to", receiver), ("state", case.state if case else None))
    notify.send(session, member=sender, kind=REPLY_KIND, now=now, notification=notify.Notification(
        kind="referral.refused", topic="referral", subjects=subjects, state="refused", time=now,
        institution=sender, facts=tuple((name, value) for name, value in found if value)))


__all__ = ["REPLY_KIND", "PURPOSE", "summary", "facts", "may_see", "notification", "tell", "tell_down_only",
           "tell_refused"]
