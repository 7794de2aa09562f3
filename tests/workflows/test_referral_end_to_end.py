"""Two-way referral end to end on a live hub (SQLite and PostgreSQL): a clinic submits an up-referral over
SOAP; the processor stores it and runs the workflows; the hospital fetches the ``referral`` reply with the
client library (the record summary, the identified patient) and accepts over SOAP; the clinic fetches the
acceptance; the hospital submits the down-referral at discharge; the clinic agent writes the discharge
notice into the clinic's database; the clinic confirms follow-up over SOAP; the hospital is told; the JSON
API shows the case to its parties and the bureau; the ETL loads the mart and the referrals cube counts the
completed round trips. Moves out of turn or out of the table are SOAP faults with their codes."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from lxml import etree

from adapters.client import WorkflowClient, read_notification
from adapters.errors import HubFault
from etl import jobs
from etl.transform import Pseudonymizer
from hub.auth import issue
from hub.registry import seed_demo
from hub.store.db import transaction
from hub.workflows import notify
from olap.cubes import execute, parse_query
from olap.schema.migrate import apply_schema
from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc, utcnow

from .agent_table import written_by_the_agent
from .referral_documents import down_referral, referral
from .two_hospitals import SECOND_HOSPITAL, hub_paths, members, pki_dir  # noqa: F401 - fixtures used here

CHINA = timedelta(hours=8)


@pytest.fixture
def parties(live_hub, members, hub_paths):
    with transaction(live_hub.hub.sessions) as session:
        seed_demo(session)
        tokens = {member: issue(session, member=member, label="test", now=utcnow())
                  for member in ("CLINIC01", "HOSP01", "CLINIC02", "BUREAU")}
    base = live_hub.url.rsplit("/soap/", 1)[0]

    def workflow(member: str) -> WorkflowClient:
        return WorkflowClient(f"{base}/soap/workflow", credentials=members[member], hub_cert=hub_paths.hub_enc_cert,
                              ca_cert=hub_paths.ca_cert)

    def api(method: str, path: str, member: str, **kwargs):
        return requests.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {tokens[member]}"},
                                timeout=10, **kwargs)

    return workflow, api


def _referral_notices(client, *, wanted: int = 1, timeout: float = 30.0) -> list[etree._Element]:
    """The ``referral`` replies of a member once ``wanted`` are there (fetched, verified, then acknowledged)."""
    deadline, found = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        replies = client.fetch_replies()
        if replies:
            client.ack_replies([r.reply_id for r in replies])
        found += [etree.fromstring(r.content) for r in replies if r.kind == "referral"]
        if len(found) >= wanted:
            assert all(notify.schema().validate(root) for root in found)
            return found
        time.sleep(0.2)
    raise AssertionError(f"{len(found)} referral notices, {wanted} wanted")


def _case(notice: etree._Element) -> str:
    return next(s.get("id") for s in notice.iter(q(WORKFLOW, "Subject")) if s.get("type") == "referral")


def _fault(call) -> str:
    with pytest.raises(HubFault) as refused:
        call()
    return refused.value.code


def _written_by_the_agent(client, folder) -> list[tuple]:
    """The clinic agent's reply routing (docs/agent.md) into a clinic database table of referral notices."""
    rows, result = written_by_the_agent(
        client, folder, member="CLINIC01", kinds=("referral",), table="hub_referral",
        columns={"reply_id": "reply_id", "notice_kind": "xml:Kind", "state": "xml:State",
                 "case_id": "xml:Subject/@id", "content": "content"},
        select="SELECT notice_kind, state, case_id, content FROM hub_referral ORDER BY notice_kind")
    assert result.failed == []
    return rows


def _round_trips(client_for, workflow, numbers: range) -> None:
    """More round trips over SOAP without the checks, in batches: up, accept, down, confirm."""
    client_for("CLINIC01").submit_batch([(f"urn:uuid:ref-e2e-up-{n}", referral(f"REF-E2E-{n}")) for n in numbers])
    cases = [_case(notice) for notice in _referral_notices(client_for("HOSP01"), wanted=len(numbers))]
    for case in cases:
        workflow("HOSP01").accept_referral(int(case), appointment=utcnow() + timedelta(days=1))
    _referral_notices(client_for("CLINIC01"), wanted=len(numbers))
    client_for("HOSP01").submit_batch([(f"urn:uuid:ref-e2e-down-{n}", down_referral(f"DOWN-E2E-{n}"))
                                       for n in numbers])
    _referral_notices(client_for("CLINIC01"), wanted=len(numbers))
    for case in cases:
        workflow("CLINIC01").confirm_follow_up(int(case))


@pytest.mark.slow
def test_a_referral_up_and_back_down(live_hub, client_for, parties, chdb_olap, tmp_path):
    workflow, api = parties
    assert client_for("CLINIC01").submit(referral("REF-E2E-1")).status == "accepted"

    (request,) = _referral_notices(client_for("HOSP01"))  # the processor stored it and ran the workflows
    case = _case(request)
    assert (request.findtext(q(WORKFLOW, "Kind")), request.findtext(q(WORKFLOW, "State"))) == (
        "referral.requested", "requested")
    summary = request.find(q(WORKFLOW, "Referral"))
    assert summary.findtext(f"{q(WORKFLOW, 'Patient')}/{q(WORKFLOW, 'Name')}") == "王秀英"
    assert summary.find(q(WORKFLOW, "Diagnosis")).get("code") == "I10"

    # out of turn, out of the table, not a party: refused with codes, nothing moves
    assert _fault(lambda: workflow("CLINIC01").accept_referral(int(case), appointment=utcnow())) == \
        "workflow.referral.turn"
    assert _fault(lambda: workflow("CLINIC01").confirm_follow_up(int(case))) == "workflow.referral.transition"
    assert _fault(lambda: workflow("CLINIC02").reject_referral(int(case), reason="no_capacity")) == \
        "workflow.referral.not_found"
    assert _fault(lambda: workflow("HOSP01").reject_referral(int(case), reason="不收")) == "workflow.referral.invalid"

    appointment = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    accepted = workflow("HOSP01").accept_referral(int(case), appointment=appointment, note="请携带既往病历")
    assert (accepted.state, accepted.appointment, accepted.due_at) == ("accepted", appointment, None)
    (acceptance,) = _referral_notices(client_for("CLINIC01"))
    facts = {f.get("code"): f.get("value") for f in acceptance.iter(q(WORKFLOW, "Fact"))}
    assert (acceptance.findtext(q(WORKFLOW, "Kind")), facts["appointment"]) == (
        "referral.accepted", format_utc(appointment))

    assert client_for("HOSP01").submit(down_referral("DOWN-E2E-1")).status == "accepted"
    deadline = time.monotonic() + 30
    while api("GET", f"/api/referrals/{case}", "CLINIC01").json()["state"] != "discharged":
        assert time.monotonic() < deadline, "the down-referral did not discharge the case"
        time.sleep(0.2)
    ((kind, state, subject, content),) = _written_by_the_agent(client_for("CLINIC01"), tmp_path)
    assert (kind, state, subject) == ("referral.discharged", "discharged", case)
    assert "出院后继续氨氯地平" in content  # the care plan of the down-referral, for the patient's own clinic

    assert workflow("CLINIC01").confirm_follow_up(int(case), note="已电话随访").state == "followed_up"
    (told,) = _referral_notices(client_for("HOSP01"))
    assert told.findtext(q(WORKFLOW, "Kind")) == "referral.followed_up"
    assert [(c.id, c.state) for c in workflow("HOSP01").list_referrals()] == [(int(case), "followed_up")]

    shown = api("GET", f"/api/referrals/{case}", "BUREAU").json()
    assert [e["action"] for e in shown["history"]] == ["open", "accept", "discharge", "follow_up"]
    assert shown["history"][1]["note"] == "请携带既往病历"
    assert [c["id"] for c in api("GET", "/api/referrals", "CLINIC01").json()] == [int(case)]
    assert api("GET", "/api/referrals", "CLINIC02").json() == []
    refused = api("GET", f"/api/referrals/{case}", "CLINIC02")
    assert (refused.status_code, refused.json()["code"]) == (404, "workflow.referral.not_found")
    again = api("POST", f"/api/referrals/{case}/follow-up", "CLINIC01", json={})
    assert (again.status_code, again.json()["code"]) == (409, "workflow.referral.transition")

    _round_trips(client_for, workflow, range(2, 6))  # four more: the cube withholds cells below 5 (docs/cubes.md)
    apply_schema(chdb_olap)
    jobs.run_incremental(live_hub.hub.sessions, chdb_olap, Pseudonymizer(b"referral-e2e-key-0123456789abcdef"))
    today = (utcnow() + CHINA).date()
    body = {"measures": ["referrals", "accepted", "round_trips"], "indicators": ["acceptance_rate"],
            "group_by": ["target.institution"], "period": {"from": "2026-11-01", "to": today.isoformat()}}
    answer = execute(chdb_olap, parse_query("referrals", body, today=today))
    cells = {cell["target.institution"]: cell for cell in answer["cells"]}
    assert {k: cells["HOSP01"][k] for k in ("referrals", "accepted", "round_trips", "acceptance_rate")} == {
        "referrals": 5, "accepted": 5, "round_trips": 5, "acceptance_rate": 100.0}


def test_a_referral_redirected_to_a_second_hospital_and_back_down(live_hub, client_for, parties):
    """Clinic → H1, H1 redirects to H2: the clinic and H2 each get their reply, H1 can act no more; H2
    accepts, the patient arrives, H2's down-referral discharges the case, the clinic confirms follow-up."""
    workflow, api = parties
    assert client_for("CLINIC01").submit(referral("REF-E2E-R1")).status == "accepted"
    first = int(_case(_referral_notices(client_for("HOSP01"))[0]))
    requested = workflow("HOSP01").list_referrals(state="requested")
    assert [(c.id, c.sender, c.receiver, c.document) for c in requested] == [(first, "CLINIC01", "HOSP01",
                                                                               "REF-E2E-R1")]
    assert requested[0].due_at == requested[0].requested_at + timedelta(hours=48)  # the default deadline

    assert _fault(lambda: workflow("HOSP01").redirect_referral(first, to="CLINIC02", reason="out_of_scope")) == \
        "workflow.referral.invalid"  # a redirect goes to another hospital only
    redirected = workflow("HOSP01").redirect_referral(first, to=SECOND_HOSPITAL, reason="out_of_scope",
                                                      note="本院无中医科")
    assert (redirected.id, redirected.state, redirected.reason) == (first, "redirected", "out_of_scope")

    (told_clinic,) = [read_notification(n) for n in _referral_notices(client_for("CLINIC01"))]
    assert (told_clinic.kind, told_clinic.referral) == ("referral.redirected", first)
    assert (told_clinic.facts["redirected_to"], told_clinic.facts["reason"]) == (SECOND_HOSPITAL, "out_of_scope")
    (request,) = _referral_notices(client_for(SECOND_HOSPITAL))
    asked = read_notification(request)
    second = asked.referral
    assert (asked.kind, asked.state) == ("referral.requested", "requested") and second != first
    summary = request.find(q(WORKFLOW, "Referral"))  # the new receiver sees the record summary too
    assert summary.findtext(f"{q(WORKFLOW, 'Patient')}/{q(WORKFLOW, 'Name')}") == "王秀英"

    # H1 is done with it: its own case has ended, the new one is not its to see
    assert _fault(lambda: workflow("HOSP01").accept_referral(first, appointment=utcnow())) == \
        "workflow.referral.transition"
    assert _fault(lambda: workflow("HOSP01").accept_referral(second, appointment=utcnow())) == \
        "workflow.referral.not_found"
    assert [(c.id, c.state) for c in workflow("HOSP01").list_referrals()] == [(first, "redirected")]

    assert workflow(SECOND_HOSPITAL).accept_referral(second, appointment=utcnow() + timedelta(days=1)).state == \
        "accepted"
    assert workflow(SECOND_HOSPITAL).confirm_arrival(second).state == "arrived"
    told = [read_notification(n) for n in _referral_notices(client_for("CLINIC01"), wanted=2)]
    assert [(n.kind, n.referral) for n in told] == [("referral.accepted", second), ("referral.arrived", second)]

    assert client_for(SECOND_HOSPITAL).submit(down_referral("DOWN-E2E-R1", institution=SECOND_HOSPITAL)).status == \
        "accepted"
    (discharged,) = [read_notification(n) for n in _referral_notices(client_for("CLINIC01"))]
    assert (discharged.kind, discharged.referral) == ("referral.discharged", second)
    assert workflow("CLINIC01").confirm_follow_up(second, note="已电话随访").state == "followed_up"
    (closed_loop,) = [read_notification(n) for n in _referral_notices(client_for(SECOND_HOSPITAL))]
    assert (closed_loop.kind, closed_loop.referral) == ("referral.followed_up", second)

    assert {(c.id, c.receiver, c.state) for c in workflow("CLINIC01").list_referrals()} == {
        (first, "HOSP01", "redirected"), (second, SECOND_HOSPITAL, "followed_up")}
    shown = api("GET", f"/api/referrals/{second}", "BUREAU").json()
    assert [e["action"] for e in shown["history"]] == ["open", "accept", "arrive", "discharge", "follow_up"]


def test_a_referral_closed_without_a_round_trip(live_hub, client_for, parties):
    """An accepted case the hospital closes (the patient did not come): the clinic is told, nothing more moves."""
    workflow, _api = parties
    assert client_for("CLINIC01").submit(referral("REF-E2E-C1", to=SECOND_HOSPITAL)).status == "accepted"
    case = int(_case(_referral_notices(client_for(SECOND_HOSPITAL))[0]))
    assert _fault(lambda: workflow(SECOND_HOSPITAL).close_referral(case)) == "workflow.referral.transition"
    workflow(SECOND_HOSPITAL).accept_referral(case, appointment=utcnow() + timedelta(days=1))
    assert _fault(lambda: workflow("CLINIC01").close_referral(case)) == "workflow.referral.turn"
    closed = workflow(SECOND_HOSPITAL).close_referral(case, note="患者未按预约就诊")
    assert (closed.id, closed.state, closed.due_at) == (case, "closed", None)
    told = [read_notification(n) for n in _referral_notices(client_for("CLINIC01"), wanted=2)]
    assert [(n.kind, n.state, n.referral) for n in told] == [("referral.accepted", "accepted", case),
                                                             ("referral.closed", "closed", case)]
    assert _fault(lambda: workflow("CLINIC01").confirm_follow_up(case)) == "workflow.referral.transition"
    assert _fault(lambda: workflow("CLINIC01").cancel_referral(case)) == "workflow.referral.transition"
    assert [(c.id, c.state) for c in workflow("CLINIC01").list_referrals(state="closed")] == [(case, "closed")]
    assert workflow("CLINIC01").list_referrals(state="requested") == []
