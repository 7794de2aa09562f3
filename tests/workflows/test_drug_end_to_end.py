"""Drug traceability and recall end to end on a live hub (SQLite and PostgreSQL), everything over real SOAP:
a supplier's DrugMovement, an institution's receipt, dispenses at two institutions, a counterfeit batch
dispensed at a third; the trace and the alert in /api/drugs and /api/alerts; the bureau's recall; each
institution fetches its own recall reply with the client library (one through the clinic agent) and
acknowledges it; no institution ever sees another's patients; the recall completes."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
import requests
from lxml import etree

from sqlalchemy import select

from certs import PkiPaths
from hub.audit import AuditEvent
from hub.auth import issue
from hub.registry import seed_demo
from hub.registry.access import create_grant
from hub.registry.actor import Actor
from hub.store.db import transaction
from hub.workflows import notify
from hub.workflows.drugs import anomalies
from protocol.credentials import Credentials
from protocol.ns import WORKFLOW, q
from protocol.timestamps import utcnow
from tests.support.hubs import member_credentials, member_pki

from .agent_table import written_by_the_agent
from .drugdocs import AMLODIPINE, AMOXICILLIN, CHINA, dispense, movement, patient

MEMBERS = ("SUPPLIER01", "CLINIC01", "HOSP01", "CLINIC02", "BUREAU")
BATCH, FAKE = "AMX2502123", "AML2501950"
DAY = datetime(2025, 2, 3, 9, 0, tzinfo=CHINA)
OWN = {"CLINIC01": {"E2E-C1-DSP-1", "E2E-C1-DSP-2"}, "HOSP01": {"E2E-H1-DSP-1"}}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return member_pki(tmp_path_factory.mktemp("drug-pki"), hub_name="测试区域卫生信息平台", members=MEMBERS)


@pytest.fixture(scope="module")
def members(pki_dir) -> dict[str, Credentials]:
    return member_credentials(pki_dir, MEMBERS)


@pytest.fixture(scope="module")
def hub_paths(pki_dir) -> PkiPaths:
    return PkiPaths.of(pki_dir)


@pytest.fixture
def api(live_hub):
    with transaction(live_hub.hub.sessions) as session:
        seed_demo(session)
        tokens = {member: issue(session, member=member, label="test", now=utcnow())
                  for member in ("BUREAU", "CLINIC01", "CLINIC02")}
    base = live_hub.url.rsplit("/soap/", 1)[0]

    def call(method: str, path: str, member: str, **kwargs):
        return requests.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {tokens[member]}"},
                                timeout=10, **kwargs)

    return call


def _until(read, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("the hub did not get there in time")


def _agent_writes_recalls(client, folder, member: str) -> list[tuple]:
    """The clinic agent's reply routing (docs/agent.md) writing recall notices into a clinic database."""
    rows, result = written_by_the_agent(
        client, folder, member=member, kinds=("recall",), table="hub_recall",
        columns={"reply_id": "reply_id", "notice_kind": "xml:Kind", "recall_id": "xml:Subject/@id",
                 "institution": "xml:Institution", "content": "content"},
        select="SELECT notice_kind, recall_id, institution FROM hub_recall")
    assert result.failed == [] and result.acknowledged == result.fetched
    return rows


def _patients_named(replies) -> set[str]:
    """The dispense documents every recall reply among ``replies`` names (each checked against the schema)."""
    found = set()
    for reply in replies:
        if reply.kind == "recall":
            root = etree.fromstring(reply.content)
            assert notify.schema().validate(root)
            found |= {p.get("document") for p in root.iter(q(WORKFLOW, "Patient"))}
    return found


def test_a_batch_traced_recalled_and_confirmed_by_each_institution(live_hub, client_for, api, tmp_path, monkeypatch):
    monkeypatch.setattr(anomalies, "SETTLE", timedelta(0))  # judged on the pass that stores them
    submitted = [
        ("SUPPLIER01", movement("E2E-SUP-DM-1", institution="SUPPLIER01", movement_type="transfer",
                                source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                                items=[(AMOXICILLIN, BATCH, 200, "2027-01-31")], at=DAY)),
        ("SUPPLIER01", movement("E2E-SUP-DM-2", institution="SUPPLIER01", movement_type="transfer",
                                source=("SUPPLIER01", "supplier"), target=("HOSP01", "institution"),
                                items=[(AMOXICILLIN, BATCH, 100, "2027-01-31")], at=DAY)),
        ("CLINIC01", movement("E2E-C1-DM-1", institution="CLINIC01", movement_type="receipt",
                              source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                              items=[(AMOXICILLIN, BATCH, 200, "2027-01-31")], at=DAY + timedelta(hours=1))),
        ("CLINIC01", dispense("E2E-C1-DSP-1", institution="CLINIC01", who=patient(1),
                              items=[(AMOXICILLIN, BATCH, 5)], at=DAY + timedelta(days=1))),
        ("CLINIC01", dispense("E2E-C1-DSP-2", institution="CLINIC01", who=patient(2),
                              items=[(AMOXICILLIN, BATCH, 3)], at=DAY + timedelta(days=2))),
        ("HOSP01", dispense("E2E-H1-DSP-1", institution="HOSP01", who=patient(3),
                            items=[(AMOXICILLIN, BATCH, 4)], at=DAY + timedelta(days=1))),
        ("CLINIC02", dispense("E2E-C2-DSP-1", institution="CLINIC02", who=patient(4),
                              items=[(AMLODIPINE, FAKE, 2)], at=DAY + timedelta(days=1))),
    ]
    for member, doc in submitted:
        assert client_for(member).submit(doc).status == "accepted"

    def traced():
        answer = api("GET", f"/api/drugs/batches/{BATCH}", "BUREAU")
        return answer.json() if answer.status_code == 200 and len(answer.json()[0]["dispensed"]) == 2 else None

    (batch,) = _until(traced)
    assert {h["code"]: h["stock"] for h in batch["holders"]} == {"SUPPLIER01": None, "CLINIC01": "192",
                                                                 "HOSP01": "96"}
    (part,) = api("GET", f"/api/drugs/batches/{BATCH}", "CLINIC01").json()  # its own part, its supplier named
    assert [(h["code"], h["in_scope"], h.get("stock")) for h in part["holders"]] == [("CLINIC01", True, "192"),
                                                                                   ("SUPPLIER01", False, None)]
    (fake,) = _until(lambda: api("GET", "/api/alerts", "BUREAU", params={"kind": "drug.batch.unknown"}).json())
    assert (fake["key"], fake["institution"], fake["district"]) == (f"{AMLODIPINE}:{FAKE}:CLINIC02", "CLINIC02",
                                                                   "330105")
    assert [a["kind"] for a in api("GET", "/api/alerts", "BUREAU").json()] == ["drug.batch.unknown"]  # nothing else

    (own,) = api("GET", f"/api/drugs/batches/{BATCH}/patients", "CLINIC01").json()  # a care provider
    assert own["identified"] == "own"
    by_institution = {entry["institution"]: entry for entry in own["institutions"]}
    assert {p["dispense"] for p in by_institution["CLINIC01"]["identified"]} == OWN["CLINIC01"]
    assert set(by_institution) == {"CLINIC01"}  # another institution's dispensing figures are not its own
    with live_hub.hub.sessions() as session:  # each person shown identified is audited
        assert sorted(session.scalars(select(AuditEvent.member).where(
            AuditEvent.event_type == "record.read.drug_patients"))) == ["CLINIC01", "CLINIC01"]
    (counts,) = api("GET", f"/api/drugs/batches/{BATCH}/patients", "BUREAU").json()  # no purpose: counts
    assert counts["identified"] == "none" and all("identified" not in e for e in counts["institutions"])
    refused = api("GET", f"/api/drugs/batches/{BATCH}/patients", "BUREAU", params={"purpose": "public_health"})
    assert (refused.status_code, refused.json()["code"]) == (403, "access.denied")  # no identified grant
    with transaction(live_hub.hub.sessions) as session:
        create_grant(session, actor=Actor("BUREAU"), member="BUREAU")
    (granted,) = api("GET", f"/api/drugs/batches/{BATCH}/patients", "BUREAU", params={"purpose": "public_health"}).json()
    assert granted["identified"] == "all" and {p["dispense"] for e in granted["institutions"]
                                               for p in e["identified"]} == OWN["CLINIC01"] | OWN["HOSP01"]

    bad = api("POST", "/api/drugs/recalls", "BUREAU", json={"batch": "NOSUCH", "reason": "x"})
    assert (bad.status_code, bad.json()["code"]) == (400, "workflow.recall.invalid")
    assert api("POST", "/api/drugs/recalls", "CLINIC01", json={"batch": BATCH, "reason": "x"}).status_code == 403
    made = api("POST", "/api/drugs/recalls", "BUREAU", json={"batch": BATCH, "reason": "质量缺陷：溶出度不合格"}).json()
    assert [(n["institution"], n["state"], n["patients"]) for n in made["institutions"]] == [
        ("CLINIC01", "sent", 2), ("HOSP01", "sent", 1)]

    clinic = client_for("CLINIC01").fetch_replies()
    assert [r.kind for r in clinic].count("recall") == 1
    assert _patients_named(clinic) == OWN["CLINIC01"]  # its own patients, no other institution's
    hospital = client_for("HOSP01").fetch_replies()
    assert _patients_named(hospital) == OWN["HOSP01"]
    assert "recall" not in {r.kind for r in client_for("CLINIC02").fetch_replies()}  # never had the batch
    assert "recall" not in {r.kind for r in client_for("SUPPLIER01").fetch_replies()}  # the source

    assert api("GET", "/api/drugs/recalls", "CLINIC02").json() == []
    (mine,) = api("GET", "/api/drugs/recalls", "CLINIC01").json()
    assert [n["institution"] for n in mine["institutions"]] == ["CLINIC01"]  # its own notice only

    assert client_for("CLINIC01").ack_replies([r.reply_id for r in clinic]) == len(clinic)
    status = api("GET", f"/api/drugs/recalls/{made['id']}", "BUREAU").json()
    assert [(n["institution"], n["state"]) for n in status["institutions"]] == [("CLINIC01", "confirmed"),
                                                                                ("HOSP01", "sent")]
    assert not status["complete"]
    client_for("HOSP01").ack_replies([r.reply_id for r in hospital if r.kind != "recall"])
    assert _agent_writes_recalls(client_for("HOSP01"), tmp_path, "HOSP01") == [
        ("drug.recall", str(made["id"]), "HOSP01")]  # fetched again, written, acknowledged by the agent
    done = api("GET", f"/api/drugs/recalls/{made['id']}", "BUREAU").json()
    assert done["complete"] and {n["state"] for n in done["institutions"]} == {"confirmed"}
