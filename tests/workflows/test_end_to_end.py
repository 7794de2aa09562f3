"""The class 甲 alert end to end on a live hub: members subscribe over SOAP (the Workflow service), a
clinic submits a plague report card over SOAP, the processor's process stores it and runs the workflows,
the alert is in /api/alerts for whom may see it, and the subscribed member fetches the notification with
the client library and reads it; an unsubscribed member and a member of another district get nothing."""
from __future__ import annotations

import time

import pytest
import requests
from lxml import etree

from adapters.client import WorkflowClient
from adapters.errors import HubFault
from hub.auth import issue
from hub.registry import seed_demo
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import transaction
from hub.workflows import notify
from protocol.ns import WORKFLOW, q
from protocol.timestamps import utcnow

from .agent_table import written_by_the_agent
from .reports import PLAGUE, disease_report


def _subscriptions(client: WorkflowClient) -> list[tuple[str, str]]:
    return [(s.topic, s.filter or "") for s in client.list_subscriptions()]


@pytest.fixture
def hub_api(live_hub, members, hub_paths):
    sessions = live_hub.hub.sessions
    with transaction(sessions) as session:
        seed_demo(session)
        register_institution(session, actor=HUB_OPERATOR, code="BUREAU05", name="示例区卫生健康局", kind="bureau",
                             level=None, division_code="330105", parent_code=None, status="active")
        tokens = {member: issue(session, member=member, label="test", now=utcnow())
                  for member in ("BUREAU", "BUREAU05", "CLINIC02")}
    base = live_hub.url.rsplit("/soap/", 1)[0]

    def workflow(member: str) -> WorkflowClient:
        return WorkflowClient(f"{base}/soap/workflow", credentials=members[member], hub_cert=hub_paths.hub_enc_cert,
                              ca_cert=hub_paths.ca_cert)

    def api(method: str, path: str, member: str, **kwargs):
        return requests.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {tokens[member]}"},
                                timeout=10, **kwargs)

    return workflow, api


def _written_by_the_agent(client, folder) -> list[tuple]:
    """The clinic agent's reply routing (docs/agent.md's sample for notifications) into a clinic database."""
    rows, result = written_by_the_agent(
        client, folder, member="HOSP01", kinds=("alert", "referral", "recall"), table="hub_notification",
        columns={"reply_id": "reply_id", "notice_kind": "xml:Kind", "state": "xml:State", "district": "xml:District",
                 "subject_id": "xml:Subject/@id", "content": "content"},
        select="SELECT reply_id, notice_kind, state, district, subject_id FROM hub_notification")
    assert result.failed == [] and result.acknowledged == result.fetched
    return rows


def _alerts_when_there(api, member: str, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api("GET", "/api/alerts", member).json()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("no alert came")


def test_a_plague_report_alerts_its_district_subscribers_only(live_hub, client_for, hub_api, tmp_path):
    workflow, api = hub_api
    assert workflow("HOSP01").subscribe("alert.disease", "330102") is not None
    workflow("CLINIC02").subscribe("alert.disease", "330105")  # another district
    assert _subscriptions(workflow("HOSP01")) == [("alert.disease", "330102")]
    assert _subscriptions(workflow("CLINIC01")) == []  # its own only
    with pytest.raises(HubFault) as refused:
        workflow("CLINIC01").subscribe("alert.everything")
    assert refused.value.code == "workflow.subscription.invalid"

    receipt = client_for("CLINIC01").submit(disease_report("IDR-PLAGUE-1", disease=PLAGUE, division="330102"))
    assert receipt.status == "accepted"

    (alert,) = _alerts_when_there(api, "BUREAU")  # the processor stored it and ran the workflows
    assert (alert["kind"], alert["key"], alert["district"], alert["state"], alert["count"]) == (
        "disease.class_a", "101:330102", "330102", "open", 1)
    assert alert["facts"] == {"disease": "101", "disease_class": "A", "managed_as": "A"}
    assert api("GET", "/api/alerts", "BUREAU05").json() == []  # a district bureau sees its district's only
    assert api("GET", "/api/alerts", "CLINIC02").json() == []  # an institution its own institution's only
    assert api("GET", "/api/alerts", "BUREAU", params={"district": "330105"}).json() == []

    replies = client_for("HOSP01").fetch_replies()
    (reply,) = [r for r in replies if r.kind == "alert"]
    root = etree.fromstring(reply.content)
    assert notify.schema().validate(root)
    assert (root.findtext(q(WORKFLOW, "Kind")), root.findtext(q(WORKFLOW, "District")),
            root.findtext(q(WORKFLOW, "Count")), root.find(q(WORKFLOW, "Subject")).get("id")) == (
        "disease.class_a", "330102", "1", str(alert["id"]))
    assert b"330102201803050031" not in reply.content and "周浩然".encode() not in reply.content  # no patient value
    assert _written_by_the_agent(client_for("HOSP01"), tmp_path) == [
        (reply.reply_id, "disease.class_a", "open", "330102", str(alert["id"]))]
    assert [r.kind for r in client_for("CLINIC02").fetch_replies()] == []
    assert {r.kind for r in client_for("CLINIC01").fetch_replies()} == {"ack"}  # its receipt's ack, no alert

    refused = api("POST", f"/api/alerts/{alert['id']}/acknowledge", "BUREAU05", json={"note": "x"})
    assert (refused.status_code, refused.json()["code"]) == (404, "workflow.alert.not_found")
    done = api("POST", f"/api/alerts/{alert['id']}/acknowledge", "BUREAU", json={"note": "已派员核实"}).json()
    assert done["state"] == "acknowledged" and done["history"][-1]["note"] == "已派员核实"
    again = api("POST", f"/api/alerts/{alert['id']}/acknowledge", "BUREAU", json={})
    assert (again.status_code, again.json()["code"]) == (409, "workflow.alert.transition")
    closed = api("POST", f"/api/alerts/{alert['id']}/close", "BUREAU", json={"note": "处置完毕"}).json()
    assert closed["state"] == "closed"

    assert workflow("HOSP01").unsubscribe("alert.disease", "330102") == 1 and _subscriptions(workflow("HOSP01")) == []
