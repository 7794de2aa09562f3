"""Surveillance end to end on a live hub (SQLite and PostgreSQL): a member subscribes over SOAP to a
district's disease alerts, two institutions submit report cards for one person over SOAP (one case, two
cards) among enough cases in that district to make an outbreak; the processor's process stores them and
runs the workflows, which raise the outbreak alert once and update it as the cluster grows; the
subscribed member fetches both notifications with the client library, a member subscribed to another
district gets none, and no notification carries a patient value."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import requests
from lxml import etree
from sqlalchemy import select

from adapters.client import HubClient, WorkflowClient
from hub.auth import issue
from hub.records.quality import local_day
from hub.registry import seed_demo
from hub.store.db import transaction
from hub.workflows import notify
from hub.workflows.surveillance.models import DiseaseCase
from protocol.ns import WORKFLOW, q
from protocol.timestamps import utcnow

from .cards import card, resident

DISTRICT = "330105"


def _submit(client: HubClient, documents) -> None:
    receipts = client.submit_batch([(f"urn:uuid:{uuid.uuid4()}", doc) for doc in documents])
    assert {r.status for r in receipts} == {"accepted"}


def _outbreak(api, count: int | None = None, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in api("/api/alerts?kind=disease.outbreak") if count is None or a["count"] == count]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("the outbreak alert did not come (or did not grow)")


def test_an_outbreak_alert_raised_once_updated_and_delivered(live_hub, client_for, members, hub_paths):
    sessions = live_hub.hub.sessions
    with transaction(sessions) as session:
        seed_demo(session)
        token = issue(session, member="BUREAU", label="test", now=utcnow())
    base = live_hub.url.rsplit("/soap/", 1)[0]

    def api(path: str) -> list[dict]:
        answer = requests.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200
        return answer.json()

    def workflow(member: str) -> WorkflowClient:
        return WorkflowClient(f"{base}/soap/workflow", credentials=members[member], hub_cert=hub_paths.hub_enc_cert,
                              ca_cert=hub_paths.ca_cert)

    workflow("CLINIC02").subscribe("alert.disease", DISTRICT)  # a member registered there
    workflow("CLINIC01").subscribe("alert.disease", "330102")
    first = local_day(utcnow()) - timedelta(days=60)
    serial = iter(range(200, 999))

    def cases(offset: int, n: int, institution: str = "CLINIC02") -> list:
        return [card(f"E2E-{institution}-{offset}-{i}", patient=resident(next(serial)), division=DISTRICT,
                     onset=first + timedelta(days=offset), institution=institution) for i in range(n)]

    shared = resident(900)  # one person, reported by the clinic and by the hospital
    clinic_card = card("E2E-SHARED-C", patient=shared, division=DISTRICT, onset=first + timedelta(days=41),
                       institution="CLINIC02")
    _submit(client_for("CLINIC02"), [doc for offset in range(0, 40, 4) for doc in cases(offset, 1)]
            + cases(41, 4) + [clinic_card] + cases(42, 6))
    _submit(client_for("HOSP01"), [card("E2E-SHARED-H", patient=shared, division=DISTRICT, institution="HOSP01",
                                        onset=first + timedelta(days=40), diagnosis=first + timedelta(days=41))])
    alert = _outbreak(api, count=11)
    assert (alert["key"], alert["district"], alert["owner"], alert["state"]) == (
        f"310:{DISTRICT}:{alert['facts']['start']}", DISTRICT, "bureau", "open")

    _submit(client_for("CLINIC02"), cases(43, 8))
    grown = _outbreak(api, count=19)
    assert grown["id"] == alert["id"] and len(api("/api/alerts?kind=disease.outbreak")) == 1
    with sessions() as session:
        (shared_case,) = [c for c in session.scalars(select(DiseaseCase)) if c.card_count == 2]
        assert shared_case.institutions == "CLINIC02,HOSP01"
        assert len(session.scalars(select(DiseaseCase)).all()) == 10 + 11 + 8

    notices = [r for r in client_for("CLINIC02").fetch_replies() if r.kind == "alert"]
    assert len(notices) == 2
    for reply, count in zip(notices, ("11", "19")):
        root = etree.fromstring(reply.content)
        assert notify.schema().validate(root)
        assert (root.findtext(q(WORKFLOW, "Kind")), root.findtext(q(WORKFLOW, "District")),
                root.findtext(q(WORKFLOW, "Count")), root.find(q(WORKFLOW, "Subject")).get("id")) == (
            "disease.outbreak", DISTRICT, count, str(alert["id"]))
        assert shared["resident_id"].encode() not in reply.content and "测试".encode() not in reply.content
    assert [r.kind for r in client_for("CLINIC01").fetch_replies() if r.kind == "alert"] == []
