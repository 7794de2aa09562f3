"""Who may read a person's records, and the audit of every read (WS/T 790 record access, IHE ATNA).

The registry decides (``docs/records.md`` has the table; ``ACCESS`` below is the same table):

- a member must be registered and active; otherwise it reads nothing personal, whatever it holds
  (a valid certificate, a bearer token);
- care providers (hospital, community health centre or station) read their own patients' records
  (the person has a patient record of theirs) without stating why, and another provider's
  patients for treatment, referral or an emergency;
- the bureau and the CDC see aggregates; a personal record only with an identified-access grant
  and a stated purpose of public health or quality review;
- pharmacies, suppliers and distributors never read personal records.

Every read of a personal record is audited (who, which person, purpose); every refusal too, in
its own transaction so that it survives the refusal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from protocol.errors import HubError

from .. import audit, mpi
from ..errors import AccessError
from ..registry.access import has_identified_grant
from ..registry.models import BUREAU_KINDS, EntryStatus, Institution
from ..store.db import transaction

# Purposes of use (HL7 PurposeOfUse, in the words of the region's rules)
PURPOSES = {
    "treatment": "诊疗",
    "emergency": "急救",
    "referral": "转诊",
    "public_health": "公共卫生",
    "quality_review": "医疗质量管理",
}


CARE_KINDS = frozenset({"hospital", "community_center", "clinic"})
OVERSIGHT_KINDS = frozenset({"bureau", "cdc"})
CARE_PURPOSES = frozenset({"treatment", "emergency", "referral"})
OVERSIGHT_PURPOSES = frozenset({"public_health", "quality_review"})


class Rule(NamedTuple):
    """What an active member of one registry kind may read."""

    own_patients_without_purpose: bool
    purposes: frozenset[str]
    needs_grant: bool


ACCESS: dict[str, Rule] = {
    **{kind: Rule(True, CARE_PURPOSES, False) for kind in CARE_KINDS},
    **{kind: Rule(False, OVERSIGHT_PURPOSES, True) for kind in OVERSIGHT_KINDS},
}  # any other kind (pharmacy, supplier, distributor): nothing personal


@dataclass(frozen=True)
class Requester:
    """The member asking, as the security gate (SOAP) or a bearer token authenticated it, with what
    the registry says of it (``kind`` None: not registered)."""

    member: str
    kind: str | None = None
    active: bool = False
    identified_grant: bool = False

    @property
    def role(self) -> str:
        """The registry's role: ``bureau`` for its bureau kinds (merges, every institution-level
        document), else ``institution``."""
        return "bureau" if self.kind in BUREAU_KINDS else "institution"


def requester_for(session: Session, member: str, *, now: datetime) -> Requester:
    """The requester's kind, status and grant, from the registry."""
    entry = session.get(Institution, member)
    if entry is None:
        return Requester(member=member)
    return Requester(member=member, kind=entry.kind, active=entry.status == EntryStatus.ACTIVE.value,
                     identified_grant=has_identified_grant(session, member, now))


def _own_patient(session: Session, member: str, person_id: int) -> bool:
    records = mpi.PatientRecord.__table__
    return bool(session.scalar(select(exists().where(records.c.institution == member,
                                                     records.c.person_id == person_id))))


def may_search(requester: Requester, purpose: str | None) -> None:
    """Raise ``AccessError`` unless ``requester`` may look residents up (names, identifiers) at all."""
    if purpose is not None and purpose not in PURPOSES:
        raise AccessError("access.denied", "unknown purpose of use")
    rule = ACCESS.get(requester.kind) if requester.active else None
    if rule is None:
        raise AccessError("access.denied", "not a registered, active member of a kind that reads personal records")
    if rule.needs_grant and not requester.identified_grant:
        raise AccessError("access.denied", "no identified-access grant")
    if purpose is not None and purpose not in rule.purposes:
        raise AccessError("access.denied", "purpose not open to this kind of member")
    if purpose is None and not rule.own_patients_without_purpose:
        raise AccessError("access.purpose.required", "identified access needs a purpose")


def decide(session: Session, *, requester: Requester, person_id: int, purpose: str | None) -> str | None:
    """Raise ``AccessError`` if the read is not allowed; return the purpose recorded for it."""
    may_search(requester, purpose)
    if purpose is None and not _own_patient(session, requester.member, person_id):
        raise AccessError("access.purpose.required", "not a patient of the requesting member: state a purpose")
    return purpose


def refused(sessions: sessionmaker[Session], *, requester: Requester, error: HubError, purpose: str | None,
            person_id: int | None = None, client_address: str | None = None) -> None:
    """Audit a refused read in its own transaction (it must survive the refusal)."""
    with transaction(sessions) as session:
        audit.record(session, "record.access.deny", member=requester.member, person_id=person_id,
                     purpose=purpose, code=error.code, client_address=client_address)


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
        refused(sessions, requester=requester, error=exc, purpose=purpose, person_id=person_id,
                client_address=client_address)
        raise


__all__ = ["PURPOSES", "Rule", "ACCESS", "CARE_KINDS", "OVERSIGHT_KINDS", "CARE_PURPOSES", "OVERSIGHT_PURPOSES",
           "Requester", "requester_for", "may_search", "decide", "refused", "read_personal"]
