"""The alerts page (告警) and the referral worklist (转诊工作台) in a real browser, on the console's hub.

The workflow data is made the way the hub makes it: referral documents and a class 甲 report card put
in the inbox and processed (tests/support/inbox.py), then the workflow runner's passes (``run_pass``:
cases opened, the overdue check). Two cases' answers are made overdue as the workflow tests do it, by
moving their deadline to the past (48 hours are not waited for). The page's lists equal what the JSON
API (the workflows' own functions) answers the member with the same scope; no patient string is shown.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.mpi.resident_id import make_resident_id
from hub.records.models import RecordDocument
from hub.store.db import transaction
from hub.web.console.users import create
from hub.workflows import run_pass
from hub.workflows.models import Alert, AlertEvent
from hub.workflows.referral import overdue
from hub.workflows.referral.models import ReferralCase
from protocol.errors import FAULTS
from protocol.timestamps import utcnow
from tests.support.inbox import Store
from tests.workflows.referral_documents import referral
from tests.workflows.reports import PLAGUE, disease_report

from .conftest import PASSWORD, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
# a synthetic person (generated for this test): none of it may reach either page
PATIENT = {"resident_id": make_resident_id("33010619850303005"), "name": "工作台合成患者", "sex": "2",
           "birth_date": "1985-03-03", "division": "330106"}
# document id → (sender, receiver): two answers overdue (one per district), one still in time
REFERRALS = {"WF-REF-1": ("C01", "H01"), "WF-REF-2": ("C03", "H02"), "WF-REF-3": ("C02", "H01")}
LATE = ("WF-REF-1", "WF-REF-2")


def _case(session, document_id: str) -> ReferralCase:
    return session.scalars(select(ReferralCase).join(RecordDocument, RecordDocument.id == ReferralCase.document_row_id)
                           .where(RecordDocument.document_id == document_id)).one()


@pytest.fixture(scope="module")
def workflows(console_hub):
    """Cases and alerts made by the runner; returns {document id: case id} and the overdue alerts' ids."""
    store = Store(console_hub.hub.sessions)
    for document_id, (sender, receiver) in REFERRALS.items():
        store.deliver(referral(document_id, institution=sender, to=receiver, patient=PATIENT), member=sender)
    store.deliver(disease_report("WF-IDR-1", disease=PLAGUE, division="330105", institution="C03"), member="C03")
    store.process()
    run_pass(console_hub.hub.sessions)
    with transaction(console_hub.hub.sessions) as session:
        for document_id in LATE:  # the hospitals' 48 hours have passed
            _case(session, document_id).due_at = utcnow() - timedelta(seconds=1)
        for username, role, institution in (("wf-ops", "operator", None), ("wf-h02admin", "institution_admin", "H02")):
            create(session, username=username, password=PASSWORD, role=role, now=utcnow(),
                   region_code=None if institution else "330100", institution_code=institution)
    assert run_pass(console_hub.hub.sessions).changes[overdue.KIND] >= 2
    with console_hub.hub.sessions() as session:
        cases = {document_id: _case(session, document_id).id for document_id in REFERRALS}
        late = {document_id: session.scalar(select(Alert.id).where(
            Alert.kind == overdue.KIND, Alert.key == f"{cases[document_id]}:requested")) for document_id in LATE}
        plague = session.scalar(select(Alert.id).where(Alert.kind == "disease.class_a", Alert.district == "330105")
                                .order_by(Alert.id.desc()))
    assert all(late.values()) and plague
    return {"cases": cases, "late": late, "plague": plague}


def _api(hub, member: str, path: str, **params):
    answer = requests.get(f"{hub.url}/api/{path}", params=params, timeout=30,
                          headers={"Authorization": f"Bearer {hub.tokens[member]}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _rows(page, table: str) -> list[dict]:
    return page.locator(f"#{table} tbody tr").evaluate_all("rows => rows.map(tr => Object.assign({}, tr.dataset))")


def _no_patient(page):
    shown = page.content()
    for name in ("resident_id", "name", "birth_date"):
        assert PATIENT[name] not in shown, name


def test_each_user_sees_the_alerts_the_api_gives_its_scope(page, console_hub, workflows):
    for username, member in (("city", "B01"), ("xihu", "B02"), ("h01admin", "H01")):
        login(page, console_hub, username)
        page.goto(f"{console_hub.url}/console/alerts")
        listed = _rows(page, "alert-list")
        api = _api(console_hub, member, "alerts")
        assert [(int(r["id"]), r["kind"], r["state"]) for r in listed] == \
            [(a["id"], a["kind"], a["state"]) for a in api]
        assert page.locator("#alert-list td.title").all_inner_texts() == [a["title_zh"] for a in api]
        assert page.locator("#alert-list td.num").all_inner_texts() == [str(a["count"]) for a in api]
        ids = {a["id"] for a in api}
        if username == "city":
            assert set(workflows["late"].values()) | {workflows["plague"]} <= ids
            row = page.locator(f"#alert-list tr[data-id='{workflows['late']['WF-REF-2']}'] td")
            cells = row.all_inner_texts()
            assert (cells[3], cells[4], cells[8], cells[9]) == ("拱墅区", "合成H02", "合成H02", "未处理")  # names
        else:  # another district's alerts are not listed, and their URL is refused
            assert workflows["late"]["WF-REF-2"] not in ids and workflows["plague"] not in ids
            assert workflows["late"]["WF-REF-1"] in ids
            answer = page.goto(f"{console_hub.url}/console/alerts?id={workflows['late']['WF-REF-2']}")
            assert answer.status == 404 and page.locator("#alert-detail").count() == 0
            assert page.inner_text("#alert-error") == \
                f"workflow.alert.not_found {FAULTS['workflow.alert.not_found'].message_zh}"
            assert page.request.get(f"{console_hub.url}/console/api/alerts/{workflows['plague']}").status == 404
            for junk in ("99999999999999999999999", "²", "-1"):  # no row, never a 500
                assert page.goto(f"{console_hub.url}/console/alerts?id={junk}").status == 404
        if username == "h01admin":
            assert {a["institution"] for a in api} == {"H01"}
        _no_patient(page)
        page.click("#logout")


def test_acknowledging_from_the_page_moves_the_alert_and_records_the_console_user(page, console_hub, workflows):
    alert_id = workflows["late"]["WF-REF-1"]
    login(page, console_hub, "city")  # an analyst reads only
    page.goto(f"{console_hub.url}/console/alerts?id={alert_id}")
    assert page.locator("#alert-actions").count() == 0 and page.locator("#alert-read-only").count() == 1
    token = page.get_attribute("meta[name='csrf-token']", "content")
    refused = page.request.post(f"{console_hub.url}/console/api/alerts/{alert_id}/acknowledge",
                                headers={"X-CSRF-Token": token}, data={})
    assert refused.status == 403 and refused.json()["code"] == "access.denied"
    page.click("#logout")

    login(page, console_hub, "wf-ops")
    page.goto(f"{console_hub.url}/console/alerts?id={alert_id}")
    assert page.inner_text("#alert-detail h2").startswith(f"#{alert_id} · 转诊环节已超时")
    facts = {row["fact"] for row in _rows(page, "alert-facts")}
    assert facts == {"referral", "state", "hours_waiting"}  # codes and counts only
    no_token = page.request.post(f"{console_hub.url}/console/api/alerts/{alert_id}/acknowledge", data={})
    assert no_token.status == 403
    page.fill("#alert-note", "已电话联系医院")
    page.click("#alert-acknowledge")
    expect(page.locator("#alert-detail")).to_have_attribute("data-state", "acknowledged")
    assert page.inner_text("#alert-state") == "已确认"
    last = _rows(page, "alert-history")[-1]
    assert (last["action"], last["actor"]) == ("acknowledge", "console:wf-ops")
    with console_hub.hub.sessions() as session:
        assert session.get(Alert, alert_id).state == "acknowledged"
        event = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                .order_by(AlertEvent.id.desc()).limit(1)).one()
        assert (event.action, event.actor, event.note) == ("acknowledge", "console:wf-ops", "已电话联系医院")
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.event_type == "alert.acknowledge",
                                                          AuditEvent.member == "console:wf-ops")) is not None
    assert [a["state"] for a in _api(console_hub, "B01", "alerts") if a["id"] == alert_id] == ["acknowledged"]
    page.click("#fact-referral")  # the overdue case on the worklist
    expect(page.locator("#case-detail")).to_have_attribute("data-id", str(workflows["cases"]["WF-REF-1"]))
    page.goto(f"{console_hub.url}/console/alerts?id={alert_id}&lang=en")
    assert page.inner_text("#alert-state") == "Acknowledged"
    assert page.inner_text("#alert-detail h2").startswith(f"#{alert_id} · a referral step is overdue")
    page.goto(f"{console_hub.url}/console/alerts?id={alert_id}&lang=zh")

    stale = workflows["late"]["WF-REF-2"]  # closed by someone else while the page shows it open
    page.goto(f"{console_hub.url}/console/alerts?id={stale}")
    closed = requests.post(f"{console_hub.url}/api/alerts/{stale}/close", json={}, timeout=30,
                           headers={"Authorization": f"Bearer {console_hub.tokens['B01']}"})
    assert closed.status_code == 200
    page.click("#alert-acknowledge")
    expect(page.locator("#alert-error")).to_be_visible()
    assert page.inner_text("#alert-error") == \
        f"workflow.alert.transition {FAULTS['workflow.alert.transition'].message_zh}"
    _no_patient(page)


def test_an_institution_administrator_acts_on_its_own_alerts_only(page, console_hub, workflows):
    login(page, console_hub, "h01admin")  # H01 owns the overdue answer of WF-REF-1
    page.goto(f"{console_hub.url}/console/alerts?id={workflows['late']['WF-REF-1']}")
    assert page.locator("#alert-close").count() == 1
    page.click("#logout")
    login(page, console_hub, "wf-h02admin")  # C03's plague card concerns no institution of H02's
    page.goto(f"{console_hub.url}/console/alerts")
    listed = {int(row["id"]) for row in _rows(page, "alert-list")}
    assert workflows["plague"] not in listed and workflows["late"]["WF-REF-1"] not in listed


def test_the_worklist_shows_the_scopes_cases_and_the_overdue_steps(page, console_hub, workflows):
    cases = workflows["cases"]
    accepted = requests.post(f"{console_hub.url}/api/referrals/{cases['WF-REF-3']}/accept", timeout=30,
                             json={"appointment": (utcnow() + timedelta(days=2)).isoformat()},
                             headers={"Authorization": f"Bearer {console_hub.tokens['H01']}"})
    assert accepted.status_code == 200, accepted.text
    for username, member in (("h01admin", "H01"), ("xihu", "B02")):
        login(page, console_hub, username)
        page.goto(f"{console_hub.url}/console/referrals/worklist")
        listed = _rows(page, "case-list")
        api = _api(console_hub, member, "referrals")
        assert [int(row["id"]) for row in listed] == [case["id"] for case in api]
        by_id = {int(row["id"]): row for row in listed}
        assert by_id[cases["WF-REF-1"]]["overdue"] == "true"
        assert page.locator(f"#case-list tr.overdue[data-id='{cases['WF-REF-1']}']").count() == 1
        assert by_id[cases["WF-REF-3"]]["overdue"] == "false" and by_id[cases["WF-REF-3"]]["state"] == "accepted"
        assert cases["WF-REF-2"] not in by_id  # C03 → H02: another district's institutions
        answer = page.goto(f"{console_hub.url}/console/referrals/worklist?id={cases['WF-REF-2']}")
        assert answer.status == 404 and page.locator("#case-detail").count() == 0
        assert page.inner_text("#worklist-error").startswith("workflow.referral.not_found")
        assert page.goto(f"{console_hub.url}/console/referrals/worklist?id=99999999999999999999999").status == 404
        _no_patient(page)
        page.click("#logout")

    login(page, console_hub, "h01admin")
    page.goto(f"{console_hub.url}/console/referrals/worklist?direction=sent")
    assert all(row["from"] == "H01" for row in _rows(page, "case-list"))
    page.goto(f"{console_hub.url}/console/referrals/worklist?direction=received&state=accepted")
    received = _rows(page, "case-list")
    assert received and all(row["to"] == "H01" and row["state"] == "accepted" for row in received)
    page.goto(f"{console_hub.url}/console/referrals/worklist?id={cases['WF-REF-3']}")
    timeline = _rows(page, "case-timeline")
    assert [(row["action"], row["to"]) for row in timeline] == [("open", "requested"), ("accept", "accepted")]
    assert "合成C02" in page.inner_text("#case-detail") and "预约时间" in page.inner_text("#case-detail")
    _no_patient(page)
    page.goto(f"{console_hub.url}/console/referrals")  # the dashboard and the worklist link to each other
    page.click("#to-worklist")
    expect(page.locator("#case-list")).to_be_visible()
    assert page.locator("#to-dashboard").count() == 1
