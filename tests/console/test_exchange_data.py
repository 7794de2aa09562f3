"""The console on data that came through the real exchange: the cube tests' scenario sent by its
members over SOAP (encrypted for the hub, signed with their certificates), processed by the hub's
processor, loaded by the ETL; the mart in embedded chDB and, once, on a ClickHouse server.

The sign-in and the hospital dashboard, read in the browser, give the cube API's numbers."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from hub.exchange.models import Envelope, Message
from protocol.status import MessageStatus

from .conftest import EQUIVALENT_MEMBER, login
from .test_browser import AS_OF, _dashboard, _table

INDICATORS = ("visits", "admissions", "daily_workload_per_staff", "charge_per_visit", "charge_per_bed_day",
              "revenue_per_100_fixed_assets")


def test_every_document_came_through_the_signed_exchange(exchange_region):
    with exchange_region.hub.sessions() as session:
        rows = session.execute(select(Message, Envelope).join(Envelope, Envelope.id == Message.envelope_id)).all()
    assert len(rows) == sum(exchange_region.sent.values()) >= 600
    for message, envelope in rows:
        assert envelope.member == message.member and envelope.action.endswith("SubmitBatch")
        assert b"CipherValue" in envelope.raw and b"SignatureValue" in envelope.raw  # kept as signed, encrypted
        assert hashlib.sha256(envelope.raw).hexdigest() == envelope.sha256
    statuses = {message.document_sha256: (message.status, message.error_code) for message, _ in rows}
    refused = [state for state in statuses.values() if state[0] != MessageStatus.PROCESSED.value]
    assert refused == [(MessageStatus.REJECTED.value, "record.code.unknown")], refused  # the one bad document
    print(f"\n{len(rows)} documents from {len(exchange_region.sent)} members through the exchange and the "
          f"processor in {exchange_region.seconds:.1f} s")


@pytest.mark.browser
@pytest.mark.parametrize("username", ["city", "xihu", "h01admin"])
def test_sign_in_and_the_dashboards_numbers_are_the_cube_apis(page, exchange_hub, username):
    login(page, exchange_hub, username)
    assert page.url.endswith("/console/hospital") and username in page.inner_text("#who")
    _dashboard(page, exchange_hub)
    member, compared = EQUIVALENT_MEMBER[username], 0
    for indicator in INDICATORS:
        shown = _table(page, indicator)
        chart = page.request.get(f"{exchange_hub.url}/console/api/hospital/{indicator}?unit=month&as_of={AS_OF}").json()
        queries, level = chart["queries"], chart["level"]
        current = exchange_hub.cube(member, queries["cube"], queries["current"])
        previous = exchange_hub.cube(member, queries["cube"], queries["previous"])
        name = (current["measures"] + current["indicators"])[0]
        assert set(shown) == {cell[level] for cell in current["cells"] + previous["cells"]}, indicator
        for series, cells in (("current", current["cells"]), ("previous", previous["cells"]),
                              ("year_ago", [{**c["year_ago"], level: c[level]} for c in current["cells"]])):
            for cell in cells:
                value, suppressed, text = shown[cell[level]][series]
                if cell["suppressed"]:
                    assert suppressed == "true" and value == "" and text == "—", (indicator, series)
                else:
                    assert float(value) == pytest.approx(cell[name]), (indicator, series, cell[level])
                    compared += 1
    assert compared >= 15


def test_the_immunizations_sent_through_the_exchange_are_the_maternal_cards_numbers(exchange_hub):
    # the maternal page's immunization card asks this query (test_public_health_pages: card = API)
    body = {"measures": ["children", "doses"], "indicators": ["coverage_per_live_births"],
            "group_by": ["institution.district"], "period": {"from": "2026-01-01", "to": "2026-12-31"}}
    cells = exchange_hub.cube("B01", "immunization", body)["cells"]
    assert {cell["institution.district"]: cell["doses"] for cell in cells} == {"330105": 22, "330106": 20}
    assert all(cell["children"] >= 5 and cell["coverage_per_live_births"] > 0 for cell in cells)
