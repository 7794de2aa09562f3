"""The batch trace (药品追溯) and recall (召回) pages in a real browser, on a hub of this module's own: the
cube tests' registry plus a supplier (SUP01, district 330109) and a distributor (RD01, 330105), and
DrugMovement / Dispense documents (tests/workflows/drugdocs.py) stored through the inbox and the
processor, then the runner's pass and the settled judgment (as ``hie drugs check``).

SUP01 ships 600 to RD01, which ships 200 to H01 and 100 to C01 (330106) and 200 to H02 (330105);
H01, C01 and H02 dispense to synthetic patients; C03 (330105) gives out 3 it never received
(``drug.dispense.excess``). The page's trace is the trace function's; an operator's recall made on
the page queues one reply per affected institution; H01 acknowledges its reply over the signed SOAP
exchange and its line turns confirmed."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select, update

from adapters.client import HubClient
from certs import PkiPaths, issue_member
from hub.audit import AuditEvent
from hub.exchange.models import Reply
from hub.mpi.models import PatientRecord
from hub.registry.models import Institution
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.db import transaction
from hub.web.app import create_app
from hub.web.console.users import create
from hub.workflows import run_pass
from hub.workflows.drugs import Recall, anomalies, trace
from hub.workflows.drugs.scoped import TraceScope, anomalies as batch_alerts
from protocol.credentials import Credentials
from protocol.timestamps import utcnow
from tests.cubes.conftest import _seed_registry
from tests.support.hubs import served
from tests.support.inbox import Store
from tests.workflows.drugdocs import AMOXICILLIN, CHINA, dispense, movement, patient
from tests.support.migrated import copy_migrated

from .conftest import PASSWORD, ConsoleHub, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
BATCH = "AMX2509901"
DAY = datetime(2026, 9, 1, 9, 0, tzinfo=CHINA)
PATIENTS = [patient(n, name="追溯页合成患者") for n in range(11, 16)]
USERS = {"city": ("analyst", "330100", None), "xihu": ("analyst", "330106", None),
         "h01admin": ("institution_admin", None, "H01"), "ops": ("operator", "330100", None)}
AFFECTED = {"RD01", "H01", "C01", "H02", "C03"}  # received or dispensed it; SUP01 is the source


def _documents(store: Store) -> None:
    def moved(doc_id, member, kind, source, target, quantity, hours=0):
        return movement(doc_id, institution=member, movement_type=kind, source=source, target=target,
                        items=[(AMOXICILLIN, BATCH, quantity, "2027-08-31")], at=DAY + timedelta(hours=hours))

    sup, rd = ("SUP01", "supplier"), ("RD01", "distributor")
    store.deliver(moved("SUP-1", "SUP01", "transfer", sup, rd, 600), member="SUP01")
    store.deliver(moved("RD-1", "RD01", "receipt", sup, rd, 600, 1),
                  *(moved(f"RD-{n}", "RD01", "transfer", rd, (to, "institution"), quantity, 2)
                    for n, to, quantity in ((2, "H01", 200), (3, "C01", 100), (4, "H02", 200))), member="RD01")
    given = {"H01": [(0, 5), (1, 3)], "C01": [(2, 2)], "H02": [(3, 4), (4, 1), (3, 2)], "C03": [(4, 3)]}
    for member, lines in given.items():
        docs = [dispense(f"{member}-DSP-{n}", institution=member, who=PATIENTS[who], items=[(AMOXICILLIN, BATCH, q)],
                         at=DAY + timedelta(days=2 + n)) for n, (who, q) in enumerate(lines)]
        if member in ("H01", "H02"):
            docs.append(moved(f"{member}-RCV", member, "receipt", rd, (member, "institution"), 200, 5))
        store.deliver(*docs, member=member)


@pytest.fixture(scope="module")
def drug_hub(request, tmp_path_factory, pki_dir):
    data_dir = tmp_path_factory.mktemp("drug-pages")
    settings = Settings(data_dir=data_dir, pki_dir=pki_dir, start_processor=False, etl_interval_s=0,
                        console_session_minutes=30)
    copy_migrated(request, settings.db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    engine = hub.sessions.kw["bind"]
    _seed_registry(engine)
    with transaction(hub.sessions) as session:
        now = utcnow()
        for code, kind, division in (("SUP01", "supplier", "330109"), ("RD01", "distributor", "330105")):
            session.add(Institution(code=code, name=f"合成{code}", kind=kind, division_code=division, status="active",
                                    created_at=now, updated_at=now))
        for username, (role, region, institution) in USERS.items():
            create(session, username=username, password=PASSWORD, role=role, now=now, region_code=region,
                   institution_code=institution)
    store = Store(hub.sessions)
    _documents(store)
    assert store.process() == 14
    run_pass(hub.sessions)
    with transaction(hub.sessions) as session:  # the settle time has passed (``hie drugs check``)
        assert anomalies.judge_due(session, now=utcnow() + anomalies.SETTLE + timedelta(seconds=1)) == 1
    app = create_app(settings, hub=hub)
    try:
        with served(app) as url:
            yield ConsoleHub(url, hub, None)
    finally:
        engine.dispose()


def _trace(page, hub, batch=BATCH):
    page.goto(f"{hub.url}/console/drugs/trace?batch={batch}")
    expect(page.locator("#trace-result")).to_have_attribute("data-state", re.compile("loaded|failed"))
    return page.locator("#drug-0")


def _rows(card, table: str) -> list[dict]:
    """Each row of a card's table: its data attributes and {cell name: value as the ledger gives it}."""
    return card.locator(f"table.{table} tbody tr").evaluate_all("""rows => rows.map(tr => Object.assign(
        {}, tr.dataset, Object.fromEntries([...tr.querySelectorAll("td[data-name]")].map(
            td => [td.dataset.name, td.dataset.value === "" ? null : td.dataset.value]))))""")


def _no_patient(page, hub):
    shown = page.content()
    with hub.hub.sessions() as session:
        keys = set(session.scalars(select(PatientRecord.local_key)))
    for person in PATIENTS:
        assert person["name"] not in shown and person["resident_id"] not in shown
    assert keys and not any(key in shown for key in keys)


def test_the_city_analyst_sees_the_trace_function_s_answer(page, drug_hub):
    login(page, drug_hub, "city")
    _trace(page, drug_hub, "NOSUCH")
    expect(page.locator("#trace-result .status")).to_have_text(
        "workflow.drug.not_found — 没有任何药品流通或发放记录涉及此批次")  # its code and the fault table's line
    card = _trace(page, drug_hub)
    assert page.inner_text("h1") == "药品批次追溯"
    with drug_hub.hub.sessions() as session:
        (book,) = trace.ledgers(session, batch=BATCH)
        alerts = batch_alerts(session, book, TraceScope())
    full = trace.as_trace(book)
    assert [{k: r[k] for k in ("from", "to", "shipped", "received", "returned")} for r in _rows(card, "legs")] == [
        {k: leg[k] for k in ("from", "to", "shipped", "received", "returned")} for leg in full["legs"]]
    assert [{k: r[k] for k in ("code", "received", "transferred", "returned", "dispensed", "stock")}
            for r in _rows(card, "holders")] == [{k: h[k] for k in ("code", "received", "transferred", "returned",
                                                                     "dispensed", "stock")} for h in full["holders"]]
    assert [{"institution": r["institution"], "dispenses": int(r["dispenses"]), "patients": int(r["patients"]),
             "quantity": r["quantity"]} for r in _rows(card, "dispensed")] == full["dispensed"]
    assert [(r["kind"], r["institution"]) for r in _rows(card, "alerts")] == [
        (a["kind"], a["institution"]) for a in alerts] == [("drug.dispense.excess", "C03")]
    assert card.locator(".expiry").inner_text() == full["expiry_date"] == "2027-08-31"
    assert page.locator(".recall-form").count() == 0  # an analyst starts no recall
    assert page.evaluate("echarts.getInstanceByDom(document.querySelector('.flow')).getOption().series[0].type") \
        == "sankey"
    _no_patient(page, drug_hub)
    refused = page.evaluate("""async () => { const r = await fetch("/console/api/recalls", {method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": HIE.csrfToken()},
        body: JSON.stringify({batch: "%s", reason: "x"})}); return [r.status, (await r.json()).code]; }""" % BATCH)
    assert refused == [403, "access.denied"]


def test_a_district_and_an_institution_see_their_part(page, drug_hub):
    login(page, drug_hub, "xihu")
    card = _trace(page, drug_hub)
    assert [(r["from"], r["to"]) for r in _rows(card, "legs")] == [("RD01", "H01"), ("RD01", "C01")]
    holders = {r["code"]: r for r in _rows(card, "holders")}
    assert {code: r["inScope"] for code, r in holders.items()} == {"C01": "true", "H01": "true", "RD01": "false"}
    assert (holders["H01"]["stock"], holders["C01"]["stock"]) == ("192", "98") and "stock" not in holders["RD01"]
    assert [r["institution"] for r in _rows(card, "dispensed")] == ["C01", "H01"]
    assert card.locator("table.alerts tbody tr[data-kind]").count() == 0  # C03's alert is another district's
    login(page, drug_hub, "h01admin")
    card = _trace(page, drug_hub)
    assert [(r["from"], r["to"], r["received"]) for r in _rows(card, "legs")] == [("RD01", "H01", "200")]
    assert [r["code"] for r in _rows(card, "holders")] == ["H01", "RD01"]
    assert [(r["institution"], r["patients"]) for r in _rows(card, "dispensed")] == [("H01", "2")]
    _no_patient(page, drug_hub)


def _recall_lines(page, hub) -> dict[str, str]:
    page.goto(f"{hub.url}/console/drugs/recalls")
    expect(page.locator("#recalls")).to_have_attribute("data-state", "loaded")
    return dict(page.locator(".recall-card table.lines tbody tr").evaluate_all(
        "rows => rows.map(tr => [tr.dataset.institution, tr.dataset.state])"))


def test_an_operator_recalls_the_batch_and_an_acknowledgement_confirms_its_line(page, drug_hub, pki_dir):
    login(page, drug_hub, "ops")
    other = page.context.new_page()  # a second tab, opened before the recall: its start is then a duplicate
    other.on("request", lambda req: page.requested.append(req.url))
    for tab in (page, other):
        _trace(tab, drug_hub)
    without = page.evaluate("""async () => (await fetch("/console/api/recalls", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: "{}"})).status""")
    assert without == 403  # no CSRF token
    page.fill(".recall-reason", "质量缺陷：溶出度不合格")
    page.fill(".recall-hours", "24")
    page.click(".recall-start")
    expect(page.locator(".recall-confirm")).to_be_visible()  # the confirmation step
    with drug_hub.hub.sessions() as session:
        assert session.scalars(select(Reply).where(Reply.kind == "recall")).all() == []  # nothing sent yet
    page.click(".recall-yes")
    expect(page.locator(".part.recall")).to_have_attribute("data-state", "started")
    with drug_hub.hub.sessions() as session:
        queued = sorted(session.scalars(select(Reply.member).where(Reply.kind == "recall")))
    assert queued == sorted(AFFECTED)  # one reply per affected institution
    with drug_hub.hub.sessions() as session:  # recall.flag's own audit, with the console user as its actor
        assert session.scalars(select(AuditEvent.member).where(AuditEvent.event_type == "recall.create")).all() == [
            "console:ops"]
    other.fill(".recall-reason", "再次召回")
    other.click(".recall-start")
    other.click(".recall-yes")
    expect(other.locator(".recall-message")).to_have_attribute("data-code", "workflow.recall.duplicate")
    assert "该批次已有召回" in other.locator(".recall-message").inner_text()
    other.close()

    assert _recall_lines(page, drug_hub) == {code: "pending" for code in AFFECTED}
    assert page.locator(".recall-card .raised-by").inner_text() == "console:ops"
    assert page.locator(".recall-card .progress").inner_text() == "0 / 5"
    if not (pki_dir / "members" / "H01").exists():
        issue_member(pki_dir, member="H01")
    paths = PkiPaths.of(pki_dir)
    client = HubClient(f"{drug_hub.url}/soap/exchange", hub_cert=paths.hub_enc_cert, ca_cert=paths.ca_cert,
                       credentials=Credentials.from_files(paths.members / "H01" / "cert.pem",
                                                          paths.members / "H01" / "key.pem"))
    fetched = [reply for reply in client.fetch_replies() if reply.kind == "recall"]
    assert len(fetched) == 1 and client.ack_replies([fetched[0].reply_id]) == 1  # AckReplies over signed SOAP
    lines = _recall_lines(page, drug_hub)
    assert lines == {**{code: "pending" for code in AFFECTED}, "H01": "confirmed"}
    assert page.locator(".recall-card .progress").inner_text() == "1 / 5"
    with transaction(drug_hub.hub.sessions) as session:  # the 24 hours pass: the deadline is behind us
        session.execute(update(Recall).values(confirm_by=utcnow() - timedelta(minutes=1)))
    assert _recall_lines(page, drug_hub) == {**{code: "overdue" for code in AFFECTED}, "H01": "confirmed"}
    expect(page.locator(".recall-card tr[data-institution='C01'] td.state")).to_have_text("已逾期")
    _no_patient(page, drug_hub)

    login(page, drug_hub, "h01admin")  # its own line only
    assert _recall_lines(page, drug_hub) == {"H01": "confirmed"}
    assert page.locator(".recall-card table.lines td[data-name='patients']").inner_text() == "2"
    _no_patient(page, drug_hub)
    answer = requests.get(f"{drug_hub.url}/console/api/recalls", timeout=10)
    assert answer.status_code == 403  # no session
