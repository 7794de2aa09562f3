"""Every dashboard card exports what it shows, and a public-health number leads to its facts, in a real
browser against the hub with real data (conftest's ``console_hub``): a card's CSV and XLSX hold exactly
its table (withheld cells as ``*`` where the page shows —), built by the cube API's export function and
audited as ``cube.export``; CSRF and scope hold; a count's lineage lists as many facts as the count."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hub.audit import AuditEvent

from .conftest import login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"  # tests/cubes/scenario.py: data in Sep–Nov 2025 and Sep–Nov 2026
TOTAL = "合计"

# {row's names joined by "|": [(data-value, data-suppressed, unit-of-value), …]} for the card's table
_READ_TABLE = """card => Object.fromEntries([...card.querySelectorAll("tbody tr")].map(row => [
    [...row.querySelectorAll("td.name")].map(td => td.innerText.trim()).join("|"),
    [...row.querySelectorAll("td[data-name]")].map(td => [td.dataset.value, td.dataset.suppressed, td.innerText])]))"""
_READ_HOSPITAL = """card => Object.fromEntries([...card.querySelectorAll("tbody tr")].map(row => [
    row.querySelector("td.name").innerText.trim(),
    ["current", "previous", "year_ago"].map(s => row.querySelector(`td[data-series='${s}']`)).map(td =>
        [td.dataset.value, td.dataset.suppressed, td.innerText])]))"""


def _open(page, hub, name: str, **params) -> dict[str, dict]:
    answers = []
    page.on("response", lambda r: answers.append(r) if f"/console/api/{name}/" in r.url else None)
    query = "&".join(f"{key}={value}" for key, value in {"unit": "month", "as_of": AS_OF, **params}.items())
    assert page.goto(f"{hub.url}/console/{name}?{query}").status == 200
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    return {a.json().get("chart") or a.json().get("indicator"): a.json() for a in answers if a.ok}


def _download(page, card: str, fmt: str) -> list[list]:
    with page.expect_download() as download:
        page.click(f"#card-{card} button.export[data-format='{fmt}']")
    assert download.value.suggested_filename.endswith(f".{fmt}")
    content = Path(download.value.path()).read_bytes()
    if fmt == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return [list(line) for line in load_workbook(io.BytesIO(content), read_only=True)["数据"].iter_rows(values_only=True)]


def _same(lines: list[list], shown: dict[str, list], units: list[str], levels: int) -> None:
    """The file's lines (header and 合计 aside) are the card's rows: same names, same values, * where —."""
    body = [line for line in lines[1:] if line[0] != TOTAL]
    assert {"|".join(str(item) for item in line[:levels]) for line in body} == set(shown)
    for line in body:
        for item, (value, suppressed, text), unit in zip(line[levels:], shown["|".join(map(str, line[:levels]))], units):
            if suppressed == "true":
                assert item == "*" and text == "—"
            elif value == "":
                assert item in ("", None) and text == "—"
            else:
                assert math.isclose(float(item), float(value) / (100 if unit == "分" else 1), rel_tol=1e-9), (item, value)


def _exports(hub, member: str) -> list[str]:
    with hub.hub.sessions() as session:
        return list(session.scalars(select(AuditEvent.detail).where(
            AuditEvent.event_type == "cube.export", AuditEvent.member == member)))


def _card(page, chart: str, script: str = _READ_TABLE) -> dict[str, list]:
    page.locator(f"#card-{chart} .toggle").click()
    return page.locator(f"#card-{chart}").evaluate(script)


def test_a_cards_csv_and_xlsx_hold_its_table_on_two_dashboards(page, console_hub):
    login(page, console_hub, "city")
    before = len(_exports(console_hub, "console:city"))
    answers = _open(page, console_hub, "diseases", district="330106")  # month × disease: some cells withheld
    trend = answers["trend"]
    shown = _card(page, "trend")
    assert any(cell[1] == "true" for row in shown.values() for cell in row)
    units = [trend["units"][name] for name in trend["values"]]
    for fmt in ("csv", "xlsx"):
        _same(_download(page, "trend", fmt), shown, units, levels=2)
    answers = _open(page, console_hub, "hospital")
    shown = _card(page, "charge_per_visit", _READ_HOSPITAL)
    for fmt in ("csv", "xlsx"):  # this period, the previous one and a year ago (the changes: test_hospital_export)
        _same(_download(page, "charge_per_visit", fmt), shown, ["元", "元", "元"], levels=1)
    assert _exports(console_hub, "console:city")[before:] == ["diseases.csv", "diseases.xlsx", "visits.csv",
                                                              "visits.xlsx"]


def test_a_card_export_needs_the_csrf_token_and_holds_the_analysts_district_only(page, console_hub):
    login(page, console_hub, "xihu")
    url = f"{console_hub.url}/console/api/export/drugs/places?format=csv&unit=month&as_of={AS_OF}"
    refused = page.request.post(url)
    assert refused.status == 403 and refused.json()["code"] == "access.denied"
    token = page.locator("meta[name='csrf-token']").get_attribute("content")
    outside = page.request.post(url + "&district=330105", headers={"X-CSRF-Token": token})
    assert outside.status == 403 and outside.json()["code"] == "access.denied"
    lineage = f"{console_hub.url}/console/api/lineage/cell?page=diseases&chart=places&unit=year&as_of={AS_OF}"
    other = page.request.get(lineage + "&value=cases&code=330105")  # another district's count: outside its scope
    assert other.status == 403 and other.json()["code"] == "access.denied"
    rate = page.request.get(lineage + "&value=incidence_per_100k&code=330106")
    assert rate.status == 422 and rate.json()["code"] == "request.invalid"
    assert len(page.request.get(lineage + "&value=cases&code=330106").json()["fact_keys"]) > 0
    _open(page, console_hub, "drugs")
    lines = _download(page, "places", "csv")
    assert [line[0] for line in lines[1:]] == ["西湖区", TOTAL]
    assert _exports(console_hub, "console:xihu")[-1:] == ["prescriptions.csv"]


def test_a_public_health_count_leads_to_as_many_facts_and_a_rate_or_withheld_cell_to_none(page, console_hub):
    login(page, console_hub, "city")
    answers = _open(page, console_hub, "diseases")  # the month: every disease's count is small, withheld
    assert answers["places"]["traced"] == ["cases"] and answers["trend"]["traced"] == ["cases"]  # a month names its period
    assert page.locator("td[data-suppressed='true']").count() > 0
    assert page.locator("td[data-suppressed='true'] a, td[data-name='incidence_per_100k'] a").count() == 0  # withheld, a rate: no link
    assert "不能逐条溯源" in page.inner_text("#untraced-note")
    _open(page, console_hub, "diseases", unit="year")
    _card(page, "places")
    cell = page.locator("#card-places tr[data-key='330106'] td[data-name='cases']")
    count = int(cell.get_attribute("data-value"))
    assert 5 <= count <= 50  # shown, and all its facts listed (the view lists 50 at most)
    cell.locator("a.lineage").click()
    page.wait_for_url("**/console/lineage?**page=diseases**")
    expect(page.locator("#lineage-cell")).to_have_attribute("data-state", "loaded")
    expect(page.locator("#facts li")).to_have_count(count)
    assert "西湖区" in page.inner_text("#cell-name")
    page.locator("#facts a.fact").first.click()
    expect(page.locator("#lineage-fact")).to_have_attribute("data-state", "loaded")
    assert page.locator("#fact-message").count() == 1
