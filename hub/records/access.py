"""Who may read a person's records, and the audit of every read (WS/T 790 record access, IHE ATNA).

- An institution reads the records of its own patients (it holds a patient record linked to the
  person) without stating why; another institution's patients only with a stated purpose of use.
- Bureau roles see aggregates, not identifiers: a personal record only with an identified-access
  grant and a stated purpose.
- Every read of a personal record is audited (who, which person, purpose); every refusal too, in
  its own transaction so that it survives the refusal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from protocol.errors import HubError

from .. import audit, mpi
from ..errors import AccessError
from ..store.db import transaction

# Purposes of use (HL7 PurposeOfUse, in the words of the region's rules)
PURPOSES = {
    "treatment": "诊疗",
    "emergency": "急救",
    "referral": "转诊",
    "public_health": "公共卫生",
    "quality_review": "医疗质量管理",
}


@dataclass(frozen=True)
class Requester:
    """The organization asking, as the security gate (SOAP) or the web console authenticated it."""

    member: str
    role: str = "institution"  # institution | bureau
    identified_grant: bool = False


def requester_for(session: Session, member: str, *, now: datetime) -> Requester:
    """The requester's role and grants from the institution registry."""
    from ..registry import has_identified_grant, role_of

    role = role_of(session, member)
    return Requester(member=member, role=role, identified_grant=role == "bureau" and has_identified_grant(session, member, now))


def _own_patient(session: Session, member: str, person_id: int) -> bool:
    records = mpi.PatientRecord.__table__
    return bool(session.scalar(select(exists().where(records.c.institution == member, records.c.person_id == person_id))))


def decide(session: Session, *, requester: Requester, person_id: int, purpose: str | None) -> str | None:
    """Raise ``AccessError`` if the read is not allowed; return the purpose recorded for it."""
    if purpose is not None and purpose not in PURPOSES:
        raise AccessError("access.denied", "unknown purpose of use")
    if requester.role == "bureau":
        if not requester.identified_grant:
            raise AccessError("access.denied", "bureau role without identified-access grant")
        if purpose is None:
            raise AccessError("access.purpose.required", "identified access needs a purpose")
        return purpose
    if requester.role != "institution":
        raise AccessError("access.denied", "unknown role")
    if purpose is None and not _own_patient(session, requester.member, person_id):
        raise AccessError("access.purpose.required", "not a patient of the requesting institution")
    return purpose


def read_personal(sessions: sessionmaker[Session], *, requester: Requester, person_id: int, purpose: str | None,
                  what: str, reader, client_address: str | None = None):
    """Run ``reader(session, current_person_id)`` if allowed; audit the read or the refusal."""
    try:
        with transaction(sessions) as session:
            current = mpi.current_person_id(session, person_id)
            recorded = decide(session, requester=requester, person_id=current, purpose=purpose)
            result = reader(session, current)
            audit.record(session, f"record.read.{what}", member=requester.member, person_id=current,
                         purpose=recorded or "own_patient", client_address=client_address)
            return result
    except HubError as exc:
        with transaction(sessions) as session:
            audit.record(session, "record.access.deny", member=requester.member, person_id=person_id,
                         purpose=purpose, code=exc.code, client_address=client_address)
        raise


__all__ = ["PURPOSES", "Requester", "requester_for", "decide", "read_personal"]
