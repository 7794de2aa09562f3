"""The data-quality page (数据质量) in a real browser against the hub with real data: the institution
ranking of a month by each dimension shows exactly the cube API's answer to a member with the same
scope, withheld figures only as —; the drill to an institution shows its rejection codes, each with what
it means; an institution's user sees its own institution only, and is refused another's."""
from __future__ import annotations

import math
import re
from datetime import date, timedelta

import pytest

from hub.web.console.quality import GAP, REPORTED, View, codes_queries, ranking_query
from protocol.errors import FAULTS
from protocol.timestamps import utcnow

from .conftest import EQUIVALENT_MEMBER, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
MONTH = "2026-11"  # tests/cubes/scenario.py: documents in Sep–Nov 2026
CJK = re.compile(r"[\u4e00-\u9fff]")


_READ = """table => [...table.querySelectorAll("tbody tr")].map(row => [row.dataset.key,
    Object.fromEntries([...row.querySelectorAll("td[data-name]")].map(td => [td.dataset.name,
        [td.dataset.value, td.innerText]]))])"""


def _ranking(page) -> list[tuple[str, dict]]:
    return [(key, values) for key, values in page.locator("#quality-ranking table").evaluate(_READ)]


def _same_as_the_api(page, hub, username: str, dimension: str, month: str = MONTH) -> int:
    """The ranking shown against the cube API (same query, same scope, same order); values compared."""
    body = ranking_query(View(date.fromisoformat(f"{month}-01"), dimension))
    api = hub.cube(EQUIVALENT_MEMBER[username], "data_quality", body)
    shown = _ranking(page)
    assert [key for key, _ in shown] == [cell["institution.institution"] for cell in api["cells"]]
    compared = 0
    for (key, values), cell in zip(shown, api["cells"]):
        for name in (*body["measures"], *body["indicators"]):
            value, text = values[name]
            if cell[name] is None:
                assert value == "" and text == "—", (key, name)
            else:
                assert math.isclose(float(value), cell[name], rel_tol=1e-9), (key, name)
                compared += 1
        if dimension == "consistency":
            gap = None if cell["visits"] is None or cell[REPORTED] is None else abs(cell[REPORTED] - cell["visits"])
            assert values[GAP][0] == ("" if gap is None else str(gap))
    return compared


def test_institutions_ranked_by_each_dimension_as_the_cube_api_answers(page, console_hub):
    login(page, console_hub, "city")
    page.click("text=数据质量")
    expect(page.locator("#quality-ranking")).to_be_visible()
    response = page.goto(f"{console_hub.url}/console/quality?month={MONTH}")
    assert response.status == 200 and page.title().startswith("数据质量")
    assert _same_as_the_api(page, console_hub, "city", "completeness") > 0
    first = page.locator("#quality-ranking tbody tr").first
    assert first.get_attribute("data-suppressed") == "false"
    for dimension, label in (("timeliness", "及时性"), ("validity", "有效性"), ("consistency", "一致性"),
                             ("linkage", "关联性")):
        page.click(f"#quality-dimensions a[data-dimension='{dimension}']")
        expect(page.locator("#quality-ranking")).to_have_attribute("data-dimension", dimension)
        assert label in page.inner_text("#quality-ranking h2")
        assert _same_as_the_api(page, console_hub, "city", dimension) > 0, dimension


def test_the_drill_shows_an_institutions_rejection_codes(page, console_hub):
    month = (utcnow() + timedelta(hours=8)).strftime("%Y-%m")  # the refused message came today (C03)
    login(page, console_hub, "city")
    response = page.goto(f"{console_hub.url}/console/quality?month={month}&institution=C03&dimension=validity")
    assert response.status == 200
    expect(page.locator("#quality-codes")).to_be_visible()
    api = console_hub.cube("B01", "data_quality_rejections",
                           codes_queries(View(date.fromisoformat(f"{month}-01"), "validity", "C03"))["rejections"])
    [cell] = api["cells"]
    assert cell["rejections"] == 1
    [(code, values)] = page.locator("#quality-rejections").evaluate(_READ)
    assert code == cell["rejection.code"] and values["rejections"][1] == "1"
    assert math.isclose(float(values["per_1000_messages"][1].replace(",", "")), cell["per_1000_messages"],
                        rel_tol=1e-2)
    assert page.locator("#quality-no-findings").is_visible()  # the scenario's documents have no findings
    page.goto(f"{console_hub.url}/console/quality?month={MONTH}&dimension=validity")
    page.locator("#quality-ranking a.drill").first.click()
    expect(page.locator("#quality-codes")).to_be_visible()
    assert "institution=" in page.url and "month=2026-11" in page.url


def test_an_institutions_user_sees_its_own_figures_only(page, console_hub):
    login(page, console_hub, "h01admin")
    page.goto(f"{console_hub.url}/console/quality?month={MONTH}&dimension=timeliness")
    assert [key for key, _ in _ranking(page)] == ["H01"]
    _same_as_the_api(page, console_hub, "h01admin", "timeliness")
    response = page.goto(f"{console_hub.url}/console/quality?month={MONTH}&institution=H02")
    assert response.status == 403 and page.locator("#refused").is_visible()
    answer = page.request.get(f"{console_hub.url}/console/api/quality?month={MONTH}&institution=H02")
    assert answer.status == 403 and answer.json()["code"] == "access.denied"
    own = page.request.get(f"{console_hub.url}/console/api/quality?month={MONTH}").json()
    assert [row["code"] for row in own["rows"]] == ["H01"]
    page.goto(f"{console_hub.url}/console/quality?month={MONTH}&lang=en")
    assert "Completeness" in page.inner_text("#quality-dimensions")


def test_the_drill_says_what_a_code_means_in_the_readers_language(page, console_hub):
    """A bureau user ranking institutions reads, beside each bare machine code (record.code.unknown …),
    the fixed Chinese line the fault table or protocol.findings holds for it."""
    month = (utcnow() + timedelta(hours=8)).strftime("%Y-%m")  # tests/cubes scenario: C03's refusal came today
    login(page, console_hub, "city")
    response = page.goto(f"{console_hub.url}/console/quality?month={month}&institution=C03&dimension=validity")
    assert response.status == 200
    row = page.locator("#quality-rejections tbody tr").first
    code = row.get_attribute("data-key")
    first_cell = row.locator("td").first.inner_text()
    assert code and code in first_cell
    assert CJK.search(first_cell.replace(code, "")), f"only the bare code is shown: {first_cell!r}"
    assert FAULTS[code].message_zh in first_cell
    answer = page.request.get(f"{console_hub.url}/console/api/quality?month={month}&institution=C03&lang=en")
    assert answer.json()["meanings"] == {code: FAULTS[code].message}
    page.goto(f"{console_hub.url}/console/quality?month={month}&institution=C03&dimension=validity&lang=en")
    assert FAULTS[code].message in page.locator("#quality-rejections tbody tr td").first.inner_text()
