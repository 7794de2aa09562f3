"""role_of and identified-access grants: expiry and revocation (what hub.records.access relies on)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from hub import registry
from hub.registry import Actor
from hub.store.db import transaction
from protocol.errors import HubError

from .conftest import BUREAU, NOW, audit_rows


def test_roles(seeded):
    with seeded() as session:
        assert registry.role_of(session, "BUREAU") == "bureau"
        assert [registry.role_of(session, code) for code in ("HOSP01", "CLINIC03", "CDC01", "SUPPLIER01")] == [
            "institution"] * 4
        assert registry.role_of(session, "UNREGISTERED") == "institution"


def test_grant_expiry_and_revocation(seeded):
    with seeded() as session:
        assert not registry.has_identified_grant(session, "BUREAU", NOW)
    with transaction(seeded) as session:
        grant = registry.create_grant(session, actor=Actor("BUREAU"), member="BUREAU", now=NOW,
                                      expires_at=NOW + timedelta(days=30))
        grant_id = grant.id
    with seeded() as session:
        assert not registry.has_identified_grant(session, "BUREAU", NOW - timedelta(seconds=1))  # not yet granted
        assert registry.has_identified_grant(session, "BUREAU", NOW)
        assert registry.has_identified_grant(session, "BUREAU", NOW + timedelta(days=29))
        assert not registry.has_identified_grant(session, "BUREAU", NOW + timedelta(days=30))  # expired
        assert not registry.has_identified_grant(session, "HOSP01", NOW)
        assert [g.id for g in registry.query_grants(session, member="BUREAU", now=NOW)] == [grant_id]
    with transaction(seeded) as session:
        revoked = registry.revoke_grant(session, actor=BUREAU, grant_id=grant_id, now=NOW + timedelta(days=1))
        assert revoked.revoked_by == "BUREAU"
        registry.revoke_grant(session, actor=BUREAU, grant_id=grant_id, now=NOW + timedelta(days=2))  # no-op
    with seeded() as session:
        assert registry.has_identified_grant(session, "BUREAU", NOW + timedelta(hours=12))  # before revocation
        assert not registry.has_identified_grant(session, "BUREAU", NOW + timedelta(days=1))
        assert registry.get_grant_or_raise(session, grant_id=grant_id).revoked_at == NOW + timedelta(days=1)
    assert [e.event_type for e in audit_rows(seeded, "registry.access_grant")] == [
        "registry.access_grant.create", "registry.access_grant.revoke"]


def test_open_ended_grant(seeded):
    with transaction(seeded) as session:
        registry.create_grant(session, actor=BUREAU, member="BUREAU", now=NOW)
    with seeded() as session:
        assert registry.has_identified_grant(session, "BUREAU", NOW + timedelta(days=3650))


@pytest.mark.parametrize(("member", "expires", "field"), [
    ("HOSP01", None, "/member"),           # institutions are never granted identified access this way
    ("UNREGISTERED", None, "/member"),
    ("BUREAU", NOW, "/expires_at"),          # already expired
])
def test_invalid_grants(seeded, member, expires, field):
    with transaction(seeded) as session, pytest.raises(HubError) as caught:
        registry.create_grant(session, actor=BUREAU, member=member, now=NOW, expires_at=expires)
    assert (caught.value.code, caught.value.fields["field"]) == ("registry.invalid", field)


def test_unknown_grant(seeded):
    with transaction(seeded) as session, pytest.raises(HubError) as caught:
        registry.revoke_grant(session, actor=BUREAU, grant_id=999)
    assert caught.value.code == "registry.not_found"


def test_records_access_uses_the_registry(seeded):
    from hub.records.access import requester_for

    with transaction(seeded) as session:
        registry.create_grant(session, actor=BUREAU, member="BUREAU", now=NOW)
    with seeded() as session:
        assert requester_for(session, "BUREAU", now=NOW).identified_grant
        assert requester_for(session, "HOSP01", now=NOW).role == "institution"

