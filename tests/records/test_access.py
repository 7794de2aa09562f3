"""Record access: own patients, stated purposes, bureau grants, audit of every read and refusal."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.records import access, query
from hub.registry.models import AccessGrant
from hub.store.db import transaction
from protocol.errors import HubError
from protocol.timestamps import utcnow


def read(store, member, purpose=None, *, person_id=None):
    with store.sessions() as session:
        requester = access.requester_for(session, member, now=utcnow())
    return access.read_personal(store.sessions, requester=requester, person_id=person_id or store.person_id,
                                purpose=purpose, what="longitudinal", reader=query.longitudinal_record)


def audits(store, event_type):
    with store.sessions() as session:
        return session.execute(select(AuditEvent.member, AuditEvent.person_id, AuditEvent.purpose, AuditEvent.code)
                               .where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)).all()


def test_own_patient_reads_the_longitudinal_record_across_institutions(records):
    record = read(records, "CLINIC01")
    assert {e["institution"] for e in record["encounters"]} == {"CLINIC01"}
    assert {lab["institution"] for lab in record["labs"]} == {"HOSP01"}
    times = [lab["reported_at"] for lab in record["labs"]]
    assert times == sorted(times, reverse=True)
    assert audits(records, "record.read.longitudinal") == [("CLINIC01", records.person_id, "own_patient", None)]


def test_other_institution_needs_a_purpose_and_every_attempt_is_audited(records):
    with pytest.raises(HubError) as refused:
        read(records, "CLINIC02")
    assert refused.value.code == "access.purpose.required"
    assert audits(records, "record.access.deny") == [("CLINIC02", records.person_id, None,
                                                      "access.purpose.required")]
    assert read(records, "CLINIC02", "referral")["encounters"]
    assert audits(records, "record.read.longitudinal")[-1] == ("CLINIC02", records.person_id, "referral", None)
    with pytest.raises(HubError) as unknown:
        read(records, "CLINIC02", "curiosity")
    assert unknown.value.code == "access.denied"


def test_bureau_needs_an_identified_grant(records):
    with pytest.raises(HubError) as refused:
        read(records, "BUREAU", "public_health")
    assert refused.value.code == "access.denied"
    now = utcnow()
    with transaction(records.sessions) as session:
        session.add(AccessGrant(member="BUREAU", scope="identified", granted_by="test", granted_at=now,
                                expires_at=now + timedelta(days=1)))
    with pytest.raises(HubError) as no_purpose:
        read(records, "BUREAU")
    assert no_purpose.value.code == "access.purpose.required"
    assert read(records, "BUREAU", "public_health")["labs"]


def test_unknown_person_is_refused_and_audited(records):
    with pytest.raises(HubError) as missing:
        read(records, "CLINIC01", person_id=10**9)
    assert missing.value.code == "mpi.person.not_found"
    assert audits(records, "record.access.deny")[-1][3] == "mpi.person.not_found"
