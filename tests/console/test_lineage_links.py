"""Lineage from a trend's cell and from a pivot's cell, in a real browser against the hub with real data
(conftest's ``console_hub``): a shown count links to the lineage view, which lists as many facts as the
count, each opening to its signed message's id and hashes; totals, rates and withheld cells have no link;
a district analyst editing the link to another district gets the refusal page; the page's one note
on values without links appears once."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from .conftest import build_pivot, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"  # tests/cubes/scenario.py: data in Sep–Nov 2025 and Sep–Nov 2026
NOTE = "不能逐条溯源"
HASH = 64  # hex digits of a SHA-256


def _facts_match(page, hub, count: int, *, opened: int = 3) -> None:
    """The lineage view lists ``count`` facts, each traced to its signed message's id and hash by the
    view's endpoint; the first ``opened`` are opened in the page as a person would."""
    expect(page.locator("#lineage-cell")).to_have_attribute("data-state", "loaded")
    expect(page.locator("#facts li")).to_have_count(count)
    for key in page.locator("#facts a.fact").all_inner_texts():
        message = page.request.get(f"{hub.url}/console/api/lineage/fact/{key}").json()["message"]
        assert message["message_id"] and len(message["document_sha256"]) == HASH, key
    for link in page.locator("#facts a.fact").all()[:opened]:
        link.click()
        expect(page.locator("#lineage-fact")).to_have_attribute("data-state", "loaded")
        message = page.locator("#fact-message")
        assert message.locator("tr[data-key='message_id'] td").inner_text().startswith("urn:uuid:")
        assert len(message.locator("tr[data-key='document_sha256'] td").inner_text()) == HASH
        assert page.locator("#fact-oltp tr[data-key='fact_key'] td").inner_text() == link.inner_text()


def test_a_trend_cell_leads_to_its_facts_and_the_note_is_shown_once(page, console_hub):
    login(page, console_hub, "city")
    answers = []
    page.on("response", lambda r: answers.append(r) if "/console/api/diseases/" in r.url else None)
    assert page.goto(f"{console_hub.url}/console/diseases?unit=year&as_of={AS_OF}").status == 200
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    trend = next(a.json() for a in answers if a.ok and a.json()["chart"] == "trend")
    assert trend["group_by"] == ["date.year", "disease.disease"] and trend["traced"] == ["cases"]
    # the note once, in the page's header, not on any card
    assert page.locator("#untraced-note").is_visible() and page.inner_text("body").count(NOTE) == 1
    assert page.locator(".card .status", has_text=NOTE).count() == 0
    page.locator("#card-trend .toggle").click()
    links = page.locator("#card-trend td[data-name='cases'] a.lineage")
    counts = [int(link.evaluate("a => a.parentElement.dataset.value")) for link in links.all()]
    assert counts and len(counts) == sum(1 for c in trend["cells"] if not c["suppressed"] and c["cases"])
    assert page.locator("#card-trend td[data-suppressed='true'] a").count() == 0
    index = counts.index(min(counts))  # the smallest: every fact listed
    link = links.nth(index)
    year = link.evaluate("a => a.closest('tr').dataset.key").split("|")[0]
    link.click()
    page.wait_for_url("**/console/lineage?**page=diseases**")
    _facts_match(page, console_hub, counts[index])
    assert f"{year}-01-01 – {year}-12-31" in page.inner_text("#cell-period")  # the year narrowed the period


# each body line's value entries: [data-value, data-withheld, has a lineage link]
_READ_LINES = """rows => rows.map(row => [...row.querySelectorAll("td.num")].map(td =>
    [td.dataset.value, td.dataset.withheld, Boolean(td.querySelector("a.lineage"))]))"""


def _pivot(page, hub, **choice) -> dict:
    """Build a pivot of the disease cube in the page as a person would; returns the table the page received."""
    return build_pivot(page, hub, cube="diseases", period="last_3_months", as_of="2026-12-01", **choice)


def test_a_pivot_cell_leads_to_its_facts_and_totals_or_rates_do_not(page, console_hub):
    login(page, console_hub, "city")
    table = _pivot(page, console_hub, measures=["cases"], indicators=["incidence_per_100k"],
                   rows=["institution.district"], columns=["date.month"])
    assert table["traced"] == ["cases"]
    cells = page.locator("#pivot-cells tbody tr")
    months = len(table["slots"]) // 2 - 1  # per value: the months, then the total
    total_line = cells.nth(cells.count() - 1)
    assert total_line.locator("a.lineage").count() == 0  # the column totals and the grand total
    lines = page.locator("#pivot-cells tbody tr").evaluate_all(_READ_LINES)
    for line in lines[:-1]:
        for column, (value, withheld, linked) in enumerate(line):
            shown_count = column < months and withheld == "false" and value not in ("", "0")
            assert linked == shown_count, (column, value, withheld)  # rates, totals, withheld: none
    assert page.locator("#untraced-note").is_visible() and page.inner_text("body").count(NOTE) == 1
    links = page.locator("#pivot-cells a.lineage")
    counts = [int(value) for value in links.evaluate_all("links => links.map(a => a.parentElement.dataset.value)")]
    count = min(counts)
    assert count <= 50  # every fact listed
    link = links.nth(counts.index(count))
    asked = parse_qs(urlsplit(link.get_attribute("href")).query)
    assert json.loads(asked["query"][0])["period"] == table["period"] and len(asked["code"]) == 2
    link.click()
    page.wait_for_url("**/console/lineage?**page=pivot**")
    assert "报告病例数" in page.inner_text("#cell-name")
    _facts_match(page, console_hub, count)


def test_a_district_analyst_cannot_reach_another_districts_facts_by_the_url(page, console_hub):
    login(page, console_hub, "xihu")
    query = {"cube": "diseases", "measures": ["cases"], "indicators": [], "rows": ["institution.district"],
             "columns": ["date.year"], "filters": [], "period": {"from": "2026-01-01", "to": "2026-12-31"}}
    own = {"page": "pivot", "query": json.dumps(query), "value": "cases", "code": ["330106", "2026"]}
    answer = page.request.get(f"{console_hub.url}/console/api/lineage/cell?" + urlencode(own, doseq=True))
    assert answer.status == 200 and answer.json()["fact_keys"]
    other = {**own, "code": ["330105", "2026"]}  # the link edited to another district
    refused = page.request.get(f"{console_hub.url}/console/api/lineage/cell?" + urlencode(other, doseq=True))
    assert refused.status == 403 and refused.json()["code"] == "access.denied"
    shown = page.goto(f"{console_hub.url}/console/lineage?" + urlencode(other, doseq=True))
    assert shown.status == 403 and page.locator("#refused").count() == 1 and page.locator("#facts").count() == 0
    trend = {"page": "referrals", "chart": "trend", "value": "referrals", "code": ["2026-10", "up"],
             "unit": "month", "as_of": AS_OF, "district": "330105"}
    shown = page.goto(f"{console_hub.url}/console/lineage?" + urlencode(trend, doseq=True))
    assert shown.status == 403 and page.locator("#refused").count() == 1
    places = {"page": "diseases", "chart": "places", "value": "cases", "code": "330105", "unit": "year", "as_of": AS_OF}
    refused = page.request.get(f"{console_hub.url}/console/api/lineage/cell?" + urlencode(places))
    assert refused.status == 403 and refused.json()["code"] == "access.denied"
