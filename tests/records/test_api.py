"""JSON record access: bearer tokens, the same access rules as SOAP, errors as codes."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree

from hub.auth import issue, revoke
from hub.store.db import transaction
from hub.web.records import router
from protocol.timestamps import utcnow
from tests.support.documents import ROOTS

from .conftest import PATIENT


@pytest.fixture
def api(records):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=records.sessions, certificates=None)
    app.include_router(router)
    tokens = {}
    with transaction(records.sessions) as session:
        for member in ("CLINIC01", "CLINIC02", "BUREAU"):
            tokens[member] = issue(session, member=member, label="test", now=utcnow())
    client = TestClient(app)
    client.person_id, client.tokens, client.sessions = records.person_id, tokens, records.sessions
    return client


def get(api, path, member=None, **params):
    headers = {"Authorization": f"Bearer {api.tokens[member]}"} if member else {}
    return api.get(path, headers=headers, params=params)


def test_token_is_required_and_errors_are_codes(api):
    response = get(api, f"/api/records/persons/{api.person_id}/record")
    assert response.status_code == 403 and response.json()["code"] == "access.denied"
    bad = api.get(f"/api/records/persons/{api.person_id}/record", headers={"Authorization": "Bearer hie_nope"})
    assert bad.status_code == 403 and PATIENT["name"] not in bad.text


def test_records_documents_and_retrieve(api):
    record = get(api, f"/api/records/persons/{api.person_id}/record", "CLINIC01")
    assert record.status_code == 200 and record.json()["encounters"][0]["institution"] == "CLINIC01"
    documents = get(api, f"/api/records/persons/{api.person_id}/documents", "CLINIC01", type="LabReport")
    assert [d["document_type"] for d in documents.json()] == ["LabReport"]
    doc = documents.json()[0]
    xml = get(api, f"/api/records/documents/{doc['institution']}/{doc['id_root']}/{doc['document_id']}", "CLINIC01")
    assert xml.status_code == 200 and etree.QName(etree.fromstring(xml.content)).localname == "LabReport"


def test_purpose_rules_and_revocation(api):
    refused = get(api, f"/api/records/persons/{api.person_id}/record", "CLINIC02")
    assert refused.status_code == 403 and refused.json()["code"] == "access.purpose.required"
    assert get(api, f"/api/records/persons/{api.person_id}/record", "CLINIC02", purpose="treatment").status_code == 200
    assert get(api, f"/api/records/persons/{api.person_id}/record", "BUREAU",
               purpose="public_health").json()["code"] == "access.denied"
    with transaction(api.sessions) as session:
        assert revoke(session, member="CLINIC02", now=utcnow()) == 1
    assert get(api, f"/api/records/persons/{api.person_id}/record", "CLINIC02",
               purpose="treatment").json()["code"] == "access.denied"


def test_resident_query(api):
    found = get(api, "/api/records/residents", "CLINIC01", identifier_root=ROOTS["resident_id"],
                identifier=PATIENT["resident_id"])
    assert [p["person_id"] for p in found.json()] == [api.person_id]
    assert "phone" not in found.json()[0]
    empty = get(api, "/api/records/residents", "CLINIC01")
    assert empty.status_code == 400 and empty.json() == {"code": "registry.invalid", "field": "query",
                                                         "message": empty.json()["message"]}


@pytest.mark.parametrize("spelling", [pytest.param(lambda v: f"{v[:6]}-{v[6:14]}-{v[14:]}", id="hyphens"),
                                      pytest.param(lambda v: "".join(chr(ord(c) + 0xFEE0) for c in v), id="full-width"),
                                      pytest.param(lambda v: f" {v[:6]} {v[6:]} ", id="spaces")])
def test_a_resident_query_spells_the_id_as_intake_does(api, spelling):
    """A clinic types the ID into the query as its documents typed it: the person they were linked to is found."""
    found = get(api, "/api/records/residents", "CLINIC01", identifier_root=ROOTS["resident_id"],
                identifier=spelling(PATIENT["resident_id"]))
    assert [p["person_id"] for p in found.json()] == [api.person_id]


def test_every_bearer_token_refusal_is_audited_with_why_and_whose(api):
    """Missing, malformed, unknown, revoked and expired tokens are refused alike (403 access.denied) and
    each refusal leaves an audit row saying why and, when the token is known, whose it was."""
    from datetime import timedelta

    from sqlalchemy import select

    from hub.audit import AuditEvent

    with transaction(api.sessions) as session:
        expired = issue(session, member="CLINIC02", label="expired", now=utcnow() - timedelta(days=2), valid_days=1)
        assert revoke(session, member="BUREAU", now=utcnow()) == 1
    path = f"/api/records/persons/{api.person_id}/record"
    for header in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer hie_nope"},
                   {"Authorization": f"Bearer {api.tokens['BUREAU']}"}, {"Authorization": f"Bearer {expired}"}):
        answer = api.get(path, headers=header, params={"purpose": "treatment"})
        assert (answer.status_code, answer.json()["code"]) == (403, "access.denied")
    with api.sessions() as session:
        rows = session.execute(select(AuditEvent.event_type, AuditEvent.member, AuditEvent.outcome, AuditEvent.code)
                               .where(AuditEvent.event_type.startswith("api.reject.")).order_by(AuditEvent.id)).all()
    assert [tuple(row) for row in rows] == [
        ("api.reject.missing", None, "failure", "access.denied"),
        ("api.reject.malformed", None, "failure", "access.denied"),
        ("api.reject.unknown", None, "failure", "access.denied"),
        ("api.reject.revoked", "BUREAU", "failure", "access.denied"),
        ("api.reject.expired", "CLINIC02", "failure", "access.denied")]
