"""The public-health dashboards (disease surveillance, drug use, referrals, maternal and child) in a real
browser against the hub with real data: each page renders, every number of every chart's table equals
the cube API's answer to a member with the same scope for the same query, a drill-down, withheld cells
shown as — only, scope by URL and endpoint, and no request leaving 127.0.0.1 (conftest's ``page``)."""
from __future__ import annotations

import math

import pytest

from hub.web.console.i18n import format_number

from .conftest import ARTIFACTS, EQUIVALENT_MEMBER, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"  # tests/cubes/scenario.py: data in Sep–Nov 2025 and Sep–Nov 2026
CHARTS = {"diseases": ("total_trend", "trend", "places", "by_disease"),
          "drugs": ("top_amount", "top_lines", "antibiotic", "antibiotic_trend", "places"),
          "referrals": ("trend", "sent", "received"),
          "maternal": ("antenatal", "child", "immunization", "vaccines", "antenatal_trend", "child_trend")}


def _open(page, hub, name: str, **params) -> dict[str, dict]:
    """Open a dashboard and wait for every card; returns each chart's answer as the page received it."""
    answers = []
    page.on("response", lambda response: answers.append(response) if f"/console/api/{name}/" in response.url else None)
    query = "&".join(f"{key}={value}" for key, value in {"unit": "month", "as_of": AS_OF, **params}.items())
    response = page.goto(f"{hub.url}/console/{name}?{query}")
    assert response.status == 200
    expect(page.locator(".card")).to_have_count(len(CHARTS[name]))
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    assert page.locator(".card[data-state='failed']").count() == 0
    return {answer.json()["chart"]: answer.json() for answer in answers if answer.ok}


_READ_TABLE = """card => Object.fromEntries([...card.querySelectorAll("tbody tr")].map(row => [row.dataset.key,
    Object.fromEntries([...row.querySelectorAll("td[data-name]")].map(td => [td.dataset.name,
        [td.dataset.value, td.dataset.suppressed, td.innerText]]))]))"""


def _table(page, chart: str) -> dict[str, dict[str, tuple[str, str, str]]]:
    """{row key: {value name: (data-value, data-suppressed, text)}} from a card's table, clicked open."""
    card = page.locator(f"#card-{chart}")
    card.locator(".toggle").click()
    assert card.locator(".table").is_visible()
    return {key: {name: tuple(cell) for name, cell in row.items()}
            for key, row in card.evaluate(_READ_TABLE).items()}


def _shown(value, unit: str) -> str:
    """The page's text for a value (dashboard.js ``shown``): fen in yuan, rates with %."""
    if value is None:
        return "—"
    if unit == "分":
        return format_number(value / 100, unit="元")
    return format_number(value, unit="元" if unit == "元" else "") + ("%" if unit == "%" else "")


def _same_as_the_api(page, hub, member: str, name: str, answers: dict) -> tuple[int, int]:
    """Every chart of the page against the cube API: (values compared, withheld values seen)."""
    compared = withheld = 0
    for chart in CHARTS[name]:
        asked = answers[chart]
        api = hub.cube(member, asked["cube"], asked["query"])
        shown = _table(page, chart)
        keys = {"|".join(str(cell[level]) for level in api["group_by"]): cell for cell in api["cells"]}
        assert set(shown) == set(keys), (name, chart)
        for key, cell in keys.items():
            for value_name in (*api["measures"], *api["indicators"]):
                value, suppressed, text = shown[key][value_name]
                if cell[value_name] is None:
                    assert value == "" and text == "—", (name, chart, key, value_name)
                    withheld += cell["suppressed"]
                    assert suppressed == ("true" if cell["suppressed"] else "false")
                else:
                    assert suppressed == "false" and math.isclose(float(value), cell[value_name], rel_tol=1e-9)
                    assert text == _shown(cell[value_name], asked["units"][value_name]), (chart, value_name, text)
                    compared += 1
    return compared, withheld


@pytest.mark.parametrize("username", ["city", "xihu", "h01admin"])
def test_every_public_health_page_shows_the_cube_apis_numbers(page, console_hub, username):
    login(page, console_hub, username)
    totals = {}
    for name in CHARTS:
        unit = "year" if name == "referrals" else "month"  # four referrals a month: every monthly cell is small
        answers = _open(page, console_hub, name, unit=unit)
        if username == "city":  # the charts, before the tables are clicked open
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        totals[name] = _same_as_the_api(page, console_hub, EQUIVALENT_MEMBER[username], name, answers)
    if username == "h01admin":  # its own institution only, counts without the per-district rates; it sends no referral
        assert totals["referrals"] == (0, 0) and sum(compared for compared, _ in totals.values()) > 0, totals
        assert set(answers["antenatal"]["omitted"]) == {"antenatal_coverage"}
        assert {cell["institution.institution"] for cell in answers["antenatal"]["cells"]} <= {"H01"}
    elif username == "xihu":  # a district's few referrals, each split up / down, are all withheld (1-4 'down')
        assert totals["referrals"][0] == 0 < totals["referrals"][1], totals
        assert all(compared > 0 for name, (compared, _) in totals.items() if name != "referrals"), totals
    else:
        assert all(compared > 0 for compared, _ in totals.values()), totals


def test_disease_surveillance_by_district_drills_to_institutions_and_shows_withheld_cells_as_a_dash(page, console_hub):
    login(page, console_hub, "city")
    answers = _open(page, console_hub, "diseases")
    assert page.inner_text("h1") == "法定传染病监测"
    trend = answers["trend"]
    assert trend["query"]["group_by"] == ["date.month", "disease.disease"]
    assert trend["axis"][0] == "2025-12" and trend["axis"][-1] == "2026-11" and len(trend["axis"]) == 12
    assert page.locator("#card-trend canvas").count() >= 1  # ECharts drew the line chart
    districts = _table(page, "places")
    assert set(districts) == {"330105", "330106"} and districts["330106"]["incidence_per_100k"][0] != ""
    page.locator("#card-places td[data-code='330106'] a.drill").click()
    page.wait_for_url("**district=330106**")
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    assert "西湖区" in page.inner_text("#crumbs")
    institutions = _table(page, "places")
    assert set(institutions) <= {"H01", "C01", "C02"} and institutions
    assert all(set(values) == {"cases"} for values in institutions.values())  # incidence is per district only
    assert "比率按区县口径" in page.inner_text("#card-places .status")
    trend = _table(page, "trend")  # a district's month × disease: some cells hold fewer than five cases
    withheld = [cell for row in trend.values() for cell in row.values() if cell[1] == "true"]
    assert withheld and all(value == "" and text == "—" for value, _, text in withheld)
    page.locator("#card-places td[data-code='H01'] a.drill").click()
    page.wait_for_url("**institution=H01**")
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    assert set(_table(page, "places")) <= {"H01"}


def test_referrals_by_month_are_all_small_and_shown_only_as_dashes(page, console_hub):
    login(page, console_hub, "city")
    answers = _open(page, console_hub, "referrals")
    assert answers["trend"]["suppressed_cells"] > 0
    assert f'{answers["trend"]["suppressed_cells"]} 个单元格因小数抑制' in page.inner_text("#card-trend .status")
    texts = [cell for row in _table(page, "trend").values() for cell in row.values()]
    assert texts and all(cell == ("", "true", "—") for cell in texts)  # four referrals a month, split by direction
    assert all(cell["referrals"] is None for cell in answers["trend"]["cells"])


def test_weeks_years_and_scope_on_the_public_health_pages(page, console_hub):
    login(page, console_hub, "xihu")
    _open(page, console_hub, "drugs")
    with page.expect_response("**/console/api/drugs/antibiotic_trend?*") as week:
        page.click("#unit-week")
    assert week.value.json()["period"] == {"from": "2026-08-24", "to": "2026-11-15"}
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    assert "unit=week" in page.url
    for name in CHARTS:
        response = page.goto(f"{console_hub.url}/console/{name}?as_of={AS_OF}&district=330105")
        assert response.status == 403 and page.locator("#refused").is_visible()
        chart = CHARTS[name][0]
        for query in ("district=330105", "institution=H02"):
            answer = page.request.get(f"{console_hub.url}/console/api/{name}/{chart}?as_of={AS_OF}&{query}")
            assert answer.status == 403 and answer.json()["code"] == "access.denied", (name, query)
    own = page.request.get(f"{console_hub.url}/console/api/diseases/places?as_of={AS_OF}").json()
    assert {cell["institution.district"] for cell in own["cells"]} == {"330106"}
    _open(page, console_hub, "referrals", lang="en")
    assert page.inner_text("h1") == "Two-way referrals" and "Up" in page.inner_text("#card-trend .table")


_DRAWN = """card => echarts.getInstanceByDom(card.querySelector(".chart")).getOption().series.map(s => s.data)"""


def _drawn(page, chart: str) -> list[list]:
    """The values the card's ECharts chart plots, one list per series (read from the chart's option)."""
    return page.locator(f"#card-{chart}").evaluate(_DRAWN)


def test_immunization_cards_draw_coverage_and_their_doses_lead_to_their_facts(page, console_hub):
    login(page, console_hub, "city")
    answers = _open(page, console_hub, "maternal", unit="year")  # 2026: the doses of October and November
    for chart in ("immunization", "vaccines"):
        asked = answers[chart]
        api = console_hub.cube("B01", "immunization", asked["query"])
        assert asked["cells"] == api["cells"] and api["cells"], chart  # the cube API's cells, as they are
        assert asked["plot"] == "coverage_per_live_births" and asked["traced"] == ["doses"]
        first = api["group_by"][0]
        assert _drawn(page, chart) == [[cell["coverage_per_live_births"] for cell in api["cells"]]]
        shown = _table(page, chart)
        for cell in api["cells"]:
            row = shown[str(cell[first])]
            for name in ("doses", "children"):  # a withheld value is an empty cell and a dash
                assert row[name][:2] == (("", "true") if cell[name] is None else (str(cell[name]), "false")), chart
    vaccines = {cell["vaccine.vaccine"]: cell for cell in answers["vaccines"]["cells"]}
    assert vaccines["Flu"]["suppressed"] and vaccines["Flu"]["doses"] is None  # two children: withheld
    assert "乙型肝炎疫苗" in page.inner_text("#card-vaccines .table")
    links = page.locator("#card-immunization td[data-name='doses'] a.lineage")
    assert links.count() == len(answers["immunization"]["cells"])  # doses are counted facts: traceable
    assert page.locator("#card-immunization td[data-name='children'] a.lineage").count() == 0
    doses = int(page.locator("#card-immunization td[data-name='doses']").first.get_attribute("data-value"))
    links.first.click()
    page.wait_for_url("**/console/lineage?**page=maternal**")
    expect(page.locator("#lineage-cell")).to_have_attribute("data-state", "loaded")
    expect(page.locator("#facts li")).to_have_count(doses)  # every dose of the cell, one fact each
    assert "record_immunization:" in page.inner_text("#facts")

    by_institution = page.request.get(f"{console_hub.url}/console/api/maternal/immunization?unit=year&as_of={AS_OF}"
                                      "&district=330106").json()  # drawn as the disease page's test reads it
    assert by_institution["plot"] == "children" and by_institution["omitted"] == ["coverage_per_live_births"]
    assert {cell["institution.institution"] for cell in by_institution["cells"]} == {"C01", "C02"}


def test_disease_charts_draw_incidence_by_district_and_cases_by_institution(page, console_hub):
    login(page, console_hub, "city")
    answers = _open(page, console_hub, "diseases", unit="year")  # a year: most cells hold five cases or more
    for chart in ("places", "by_disease"):
        cells = console_hub.cube("B01", "diseases", answers[chart]["query"])["cells"]
        assert answers[chart]["plot"] == "incidence_per_100k"
        incidence = [cell["incidence_per_100k"] for cell in cells]
        assert _drawn(page, chart) == [incidence], chart
        assert any(incidence) and all(value is None or 0 < value < 10 for value in incidence)  # per 100,000
    legend = page.locator("#card-places").evaluate(
        "card => echarts.getInstanceByDom(card.querySelector('.chart')).getOption().legend[0].data")
    assert legend == ["报告发病率"]
    _table(page, "places")
    page.locator("#card-places td[data-code='330106'] a.drill").click()
    page.wait_for_url("**district=330106**")
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    for chart in ("places", "by_disease"):  # below districts incidence is omitted: the charts draw cases
        answer = page.request.get(f"{console_hub.url}/console/api/diseases/{chart}?unit=year&as_of={AS_OF}"
                                  "&district=330106").json()
        assert answer["plot"] == "cases"
        assert _drawn(page, chart) == [[cell["cases"] for cell in answer["cells"]]], chart
