"""The exchange monitor page and the lineage view in a real browser, against the console's hub after
messages sent through its real exchange (signed and encrypted SOAP over HTTP to 127.0.0.1): H01 sends a
visit authored as H02 (rejected in processing, ``record.author.mismatch``) and C01 a Document holding
two documents (refused at the gate, ``exchange.document.invalid``). The page's numbers are the
/api/monitor endpoints' for the member with the same scope; no payload or patient string is shown."""
from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import text

from certs import PkiPaths, issue_member
from hub import pipeline
from hub.mpi.resident_id import make_resident_id
from hub.monitor import record_reconcile
from hub.store.db import transaction
from hub.web.console.users import create
from protocol.credentials import Credentials, load_certificate
from protocol.errors import FAULTS
from protocol.timestamps import utcnow
from tests.exchange.builders import fault_code, sealed, submit_document
from tests.support.documents import document

from .conftest import PASSWORD, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"
# a synthetic person (generated for this test): none of it may reach the monitor or the lineage view
PATIENT = {"resident_id": make_resident_id("33010619790202004"), "name": "溯源合成患者", "sex": "1",
           "birth_date": "1979-02-02", "division": "330106"}
SENDERS = ("H01", "C01")


@pytest.fixture(scope="module")
def sent(console_hub, pki_dir):
    """MessageIDs of the rejected and the refused message, sent over HTTP and processed."""
    for member in SENDERS:
        if not (pki_dir / "members" / member).exists():
            issue_member(pki_dir, member=member)
    credentials = {member: Credentials.from_files(pki_dir / "members" / member / "cert.pem",
                                                  pki_dir / "members" / member / "key.pem") for member in SENDERS}
    hub_cert = load_certificate(PkiPaths.of(pki_dir).hub_enc_cert)

    def post(member, content):
        message_id = f"urn:uuid:{uuid.uuid4()}"
        answer = requests.post(f"{console_hub.url}/soap/exchange", timeout=30,
                               data=sealed(credentials[member], hub_cert, content, message_id=message_id),
                               headers={"Content-Type": "text/xml; charset=utf-8"})
        return message_id, fault_code(answer.content)

    rejected, code = post("H01", submit_document(document("OutpatientVisit", institution="H02", patient=PATIENT)))
    assert code is None  # accepted at the gate: the author is checked in processing
    refused_content = submit_document(document("OutpatientVisit", institution="C01", patient=PATIENT))
    refused_content[0].append(document("LabReport", institution="C01", patient=PATIENT))
    refused, code = post("C01", refused_content)
    assert code == "exchange.document.invalid"
    assert pipeline.process_pending(console_hub.hub.sessions, console_hub.hub.stages) == 1
    with transaction(console_hub.hub.sessions) as session:
        create(session, username="ops", password=PASSWORD, role="operator", now=utcnow(), region_code="330100")
        record_reconcile(session, now=utcnow(), compared=[
            {"fact": "fact_outpatient_visit", "date": "2026-11-15", "oltp": 7, "mart": 7, "difference": 0}])
    return {"rejected": rejected, "refused": refused}


def _api(hub, member, path, **params):
    answer = requests.get(f"{hub.url}/api/monitor/{path}", params=params, timeout=30,
                          headers={"Authorization": f"Bearer {hub.tokens[member]}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _monitor(page, hub, query=""):
    page.goto(f"{hub.url}/console/monitor{query}")
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)


def _rows(page, card: str) -> list[dict]:
    """Each row of a card's table: its data attributes and {count name: value}."""
    found = []
    for row in page.locator(f"#{card} tbody tr").all():
        counts = {cell.get_attribute("data-count"): int(cell.get_attribute("data-value"))
                  for cell in row.locator("td[data-count]").all()}
        found.append({**row.evaluate("(tr) => Object.assign({}, tr.dataset)"), **counts})
    return found


def _no_patient(page):
    shown = page.content()
    for name in ("resident_id", "name", "birth_date"):
        assert PATIENT[name] not in shown, name
    assert "<hie:" not in shown and "Envelope" not in shown  # no document, no SOAP


def _journey(page, message_id: str) -> list[dict]:
    """Look ``message_id`` up on the page: each step's machine name, its label and its detail's text."""
    page.fill("#journey-id", message_id)
    page.click("#journey-submit")
    expect(page.locator("#card-journey")).to_have_attribute("data-state", "loaded")
    return page.locator("#journey tbody tr").evaluate_all("""rows => rows.map(tr => ({
        step: tr.dataset.step, label: tr.querySelector("td.step").innerText.trim(),
        detail: tr.querySelector("td.detail").innerText}))""")


def test_the_monitor_shows_the_rejections_with_their_meaning_and_a_journey(page, console_hub, sent):
    login(page, console_hub, "ops")
    _monitor(page, console_hub)
    assert page.inner_text("h1") == "数据交换监控"
    rejections = {(row["stage"], row["code"]): row for row in _rows(page, "card-rejections")}
    for stage, code in (("processing", "record.author.mismatch"), ("gate", "exchange.document.invalid")):
        assert rejections[stage, code]["count"] >= 1
        shown = page.locator(f"#card-rejections tr[data-code='{code}']")
        assert shown.locator("td.code").inner_text() == code  # the machine code as it is
        assert shown.locator("td.meaning").inner_text() == FAULTS[code].message_zh  # its meaning in Chinese
    steps = _journey(page, sent["rejected"])
    assert [step["step"] for step in steps][:4] == ["received", "gate", "stored", "rejected"]
    assert [step["label"] for step in steps] == ["接收", "安全网关", "入库", "处理失败", "回执"]
    api = _api(console_hub, "B01", f"journey/{sent['rejected']}")["journeys"]
    assert [j["member"] for j in api] == ["H01"]
    api_steps = {step["step"]: step for step in api[0]["steps"]}
    journey = page.inner_text("#journey")
    for value in (api_steps["received"]["envelope_sha256"], api_steps["stored"]["document_sha256"],
                  "错误码: record.author.mismatch", f"含义: {FAULTS['record.author.mismatch'].message_zh}",
                  "结论: 通过", "回执类型: 处理回执"):
        assert value in journey
    refused = _journey(page, sent["refused"])  # refused at the gate: nothing stored
    assert [(step["step"], step["label"]) for step in refused] == [("refused", "拒收")]
    assert "环节: 安全网关" in refused[0]["detail"] and "错误码: exchange.document.invalid" in refused[0]["detail"]
    assert page.locator("#card-etl").count() == 1  # an operator sees ETL runs and reconcile results
    assert len(page.locator("#card-etl table.reconcile tbody tr").all()) == len(_api_etl(console_hub)["reconcile"])
    statuses = {"finished": "已完成", "running": "运行中", "failed": "失败"}  # a run's status and kind in Chinese
    assert page.locator("#card-etl table.etl-runs tbody td:nth-child(3)").all_inner_texts() == \
        [statuses[run["status"]] for run in _api_etl(console_hub)["runs"]]
    kinds = {"hospital": "医院", "community_center": "社区卫生服务中心", "clinic": "社区卫生服务站/诊所"}
    assert page.locator("#card-silent tbody td:nth-child(3)").all_inner_texts() == \
        [kinds[row["kind"]] for row in _api(console_hub, "B01", "silent")["members"]]
    _no_patient(page)


def test_the_monitor_in_english_shows_the_english_meanings_and_step_names(page, console_hub, sent):
    login(page, console_hub, "ops")
    _monitor(page, console_hub, "?lang=en")
    assert page.inner_text("h1") == "Exchange monitor"
    meaning = page.locator("#card-rejections tr[data-code='record.author.mismatch'] td.meaning").inner_text()
    assert meaning == FAULTS["record.author.mismatch"].message
    steps = _journey(page, sent["rejected"])
    assert [step["label"] for step in steps] == ["received", "gate", "stored", "rejected", "reply"]
    journey = page.inner_text("#journey")
    assert "code: record.author.mismatch" in journey
    assert f"message: {FAULTS['record.author.mismatch'].message}" in journey and "含义" not in journey
    assert _journey(page, sent["refused"])[0]["label"] == "refused"


def _api_etl(hub):
    return _api(hub, "B01", "etl")


@pytest.mark.parametrize("username, member", [("ops", "B01"), ("h01admin", "H01")])
def test_the_monitors_numbers_are_the_apis_for_the_same_scope(page, console_hub, sent, username, member):
    login(page, console_hub, username)
    _monitor(page, console_hub)
    card = page.locator("#card-traffic")
    since, until = card.get_attribute("data-since"), card.get_attribute("data-until")
    api = _api(console_hub, member, "traffic", since=since, until=until, grain="hour")
    shown = [row for row in _rows(page, "card-traffic") if not row.get("total")]
    counts = ("received", "accepted", "refused", "processed", "rejected", "pending")
    assert [(row["member"], row["start"], *(row[name] for name in counts)) for row in shown] == \
        [(entry["member"] or "", entry["start"], *(entry[name] for name in counts)) for entry in api["rows"]]
    assert sum(entry["rejected"] for entry in api["rows"]) >= 1  # the rejected message is among them
    total = next(row for row in _rows(page, "card-traffic") if row.get("total"))
    assert {name: total[name] for name in api["totals"]} == api["totals"]
    rejections = _api(console_hub, member, "rejections", since=since, until=until)["rejections"]
    assert {(row["stage"], row["code"], row["count"], row["members"]) for row in _rows(page, "card-rejections")} == \
        {(row["stage"], row["code"], row["count"], row["members"]) for row in rejections}
    assert [row["member"] for row in _rows(page, "card-silent")] == \
        [row["member"] for row in _api(console_hub, member, "silent")["members"]]
    assert next(row for row in _rows(page, "card-backlog") if row.get("total"))["count"] == \
        _api(console_hub, member, "backlog")["count"]
    if username == "h01admin":  # its own institution only: no other member, no refusal of C01, no ETL runs
        assert {row["member"] for row in shown} == {"H01"}
        assert ("gate", "exchange.document.invalid") not in {(r["stage"], r["code"]) for r in _rows(page, "card-rejections")}
        assert page.locator("#card-etl").count() == 0
        assert page.request.get(f"{console_hub.url}/console/api/monitor/etl").status == 403
        page.fill("#journey-id", sent["refused"])  # C01's: answered as an unknown MessageID
        page.click("#journey-submit")
        expect(page.locator("#card-journey")).to_have_attribute("data-state", "failed")
        assert page.inner_text("#card-journey .status") == "在您的范围内没有该 MessageID 的报文。"
    else:
        assert {"H01", "C01"} <= {row["member"] for row in shown}


def test_an_analyst_has_no_monitor(page, console_hub):
    login(page, console_hub, "xihu")
    assert page.goto(f"{console_hub.url}/console/monitor").status == 403
    assert page.request.get(f"{console_hub.url}/console/api/monitor/traffic").status == 403
    assert page.locator("header.top nav a[href='/console/monitor']").count() == 0


def test_a_dashboard_number_leads_to_its_facts_and_their_signed_messages(page, console_hub):
    login(page, console_hub, "city")
    page.goto(f"{console_hub.url}/console/hospital?unit=month&as_of={AS_OF}")
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    page.locator("#card-visits .toggle").click()
    cell = page.locator("#card-visits tr[data-code='330106'] td[data-series='current']")
    value = int(cell.get_attribute("data-value"))
    cell.locator("a.lineage").click()
    page.wait_for_url("**/console/lineage?**")
    expect(page.locator("#lineage-cell")).to_have_attribute("data-state", "loaded")
    keys = page.locator("#facts a.fact").all_inner_texts()
    assert len(keys) == min(value, 50) and all(key.startswith("record_encounter:") for key in keys)
    page.locator("#facts a.fact").first.click()
    expect(page.locator("#lineage-fact")).to_have_attribute("data-state", "loaded")
    api = requests.get(f"{console_hub.url}/api/lineage/{keys[0]}", timeout=30,
                       headers={"Authorization": f"Bearer {console_hub.tokens['B01']}"}).json()
    for name in ("message_id", "envelope_sha256", "document_sha256"):
        shown = page.locator(f"#fact-message tr[data-key='{name}'] td").inner_text()
        assert shown == api["message"][name] and shown
    assert page.locator("#fact-oltp tr[data-key='institution'] td").inner_text() in {"H01", "C01", "C02"}
    _no_patient(page)


def test_a_withheld_cell_offers_no_lineage_and_a_fact_outside_the_scope_is_refused(page, console_hub):
    login(page, console_hub, "xihu")
    page.goto(f"{console_hub.url}/console/hospital?unit=month&as_of={AS_OF}&institution=H01")
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    withheld = page.locator("#card-visits td[data-suppressed='true']")
    assert withheld.count() >= 1
    assert page.locator("#card-visits td[data-suppressed='true'] a").count() == 0
    code = withheld.first.locator("xpath=..").get_attribute("data-code")
    series = withheld.first.get_attribute("data-series")
    query = f"chart=visits&code={code}&series={series}&unit=month&as_of={AS_OF}&institution=H01"
    answer = page.request.get(f"{console_hub.url}/console/api/lineage/cell?{query}")
    assert answer.status == 403 and answer.json()["code"] == "access.denied" and "fact_keys" not in answer.text()
    page.goto(f"{console_hub.url}/console/lineage?{query}")
    expect(page.locator("#lineage-cell")).to_have_attribute("data-state", "withheld")
    assert page.locator("#facts li").count() == 0
    with console_hub.hub.sessions() as session:
        h02 = session.execute(text("SELECT id FROM record_encounter WHERE institution = 'H02' LIMIT 1")).scalar()
    refused = page.request.get(f"{console_hub.url}/console/api/lineage/fact/record_encounter:{h02}")
    assert refused.status == 403 and refused.json()["code"] == "access.denied"

