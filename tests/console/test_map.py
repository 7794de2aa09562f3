"""The district map card in a real browser against the hub with real data (conftest's ``console_hub``):
with a schematic map imported, the hospital page's map draws every district with the very values of the
chosen indicator's by-district table (no query of its own), the disease page's map the incidence of its
by-district card with withheld cells drawn as no data, and a click on a district drills as the table does."""
from __future__ import annotations

import json
import math

import pytest

from hub.regions import import_map, known_districts, map_path, schematic_map
from protocol.timestamps import utcnow

from .conftest import login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"  # tests/cubes/scenario.py: data in Sep–Nov 2025 and Sep–Nov 2026

_DRAWN = "el => echarts.getInstanceByDom(el).getOption().series[0].data.map(d => [d.name, d.value, d.withheld])"
_FEATURES = "() => echarts.getMap('hie-region').geoJSON.features.map(f => f.properties.code)"
_HOSPITAL_ROWS = """card => [...card.querySelectorAll("tbody tr")].map(row => [row.dataset.code,
    row.querySelector("td.current").dataset.value, row.querySelector("td.current").dataset.suppressed,
    row.querySelector("a.drill").getAttribute("href")])"""
_PLACE_ROWS = """card => [...card.querySelectorAll("tbody tr")].map(row => [row.querySelector("td.name").dataset.code,
    row.querySelector("td[data-name='incidence_per_100k']").dataset.value,
    row.querySelector("td[data-name='incidence_per_100k']").dataset.suppressed])"""
_CENTRE = """(el, lnglat) => echarts.getInstanceByDom(el).convertToPixel({seriesIndex: 0}, lnglat)"""


@pytest.fixture(scope="module")
def mapped_hub(console_hub):
    """``console_hub`` with a schematic map of its registry's districts imported (removed afterwards)."""
    with console_hub.hub.sessions() as session:
        districts = known_districts(session)
    data_dir = console_hub.hub.settings.data_dir
    kept = import_map(data_dir=data_dir, raw=json.dumps(schematic_map(list(districts.items()))).encode(),
                      districts=districts, now=utcnow())
    yield console_hub, kept
    map_path(data_dir).unlink()


def _drawn(page) -> dict[str, tuple]:
    return {code: (value, withheld) for code, value, withheld in page.locator("#card-map .chart").evaluate(_DRAWN)}


def _open(page, url: str, answers: list) -> None:
    expect(page.locator("[data-state='loading']")).to_have_count(0)  # the start page's own requests are over
    page.on("response", lambda response: answers.append(response.url) if "/console/api/" in response.url else None)
    assert page.goto(url).status == 200
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    expect(page.locator("#card-map")).to_have_attribute("data-state", "loaded")


def _same(drawn, value: str, suppressed: str) -> bool:
    if suppressed == "true" or value == "":
        return drawn == (None, suppressed == "true")
    return drawn[1] is False and math.isclose(drawn[0], float(value), rel_tol=1e-12)


def test_the_hospital_map_draws_the_tables_values_and_a_click_drills_as_the_table(page, mapped_hub):
    hub, kept = mapped_hub
    answers = []
    login(page, hub, "city")
    _open(page, f"{hub.url}/console/hospital?unit=month&as_of={AS_OF}", answers)
    codes = [feature["properties"]["code"] for feature in kept["features"]]
    assert page.evaluate(_FEATURES) == codes == ["330105", "330106", "330109"]
    assert page.locator("#card-map .map-schematic").is_visible()  # a schematic map says so
    for index, indicator in ((0, "visits"), (3, "charge_per_visit")):
        page.select_option("#map-source", str(index))
        expect(page.locator("#card-map")).to_have_attribute("data-source", f"card-{indicator}")
        rows = {code: (value, suppressed, href) for code, value, suppressed, href
                in page.locator(f"#card-{indicator}").evaluate(_HOSPITAL_ROWS)}
        drawn = _drawn(page)
        assert set(drawn) == set(codes) and set(rows) <= set(codes) and rows
        for code in codes:
            value, suppressed, _ = rows.get(code, ("", "false", None))
            assert _same(drawn[code], value, suppressed), (indicator, code, drawn[code], rows.get(code))
        page.locator("#card-map .toggle").click()  # the map's table, a click away, holds the same values
        shown = dict(page.locator("#card-map tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.code, r.querySelector('td.num').dataset.value])"))
        assert shown == {code: rows.get(code, ("",))[0] for code in codes}
        page.locator("#card-map .toggle").click()
    assert sum("/console/api/hospital/" in url for url in answers) == 6  # the six cards; the map asked none
    assert sum(url.endswith("/console/api/map") for url in answers) == 1
    ring = next(f for f in kept["features"] if f["properties"]["code"] == "330106")["geometry"]["coordinates"][0]
    centre = [sum(p[0] for p in ring[:6]) / 6, sum(p[1] for p in ring[:6]) / 6]
    x, y = page.locator("#card-map .chart").evaluate(_CENTRE, centre)
    page.locator("#card-map .chart").scroll_into_view_if_needed()
    box = page.locator("#card-map .chart").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**district=330106**")
    assert page.url.endswith(rows["330106"][2])  # the district table's own link
    assert page.locator("#card-map").count() == 0  # institutions: no map below districts


def test_the_disease_map_draws_incidence_with_withheld_cells_as_no_data(page, mapped_hub):
    hub, _ = mapped_hub
    login(page, hub, "city")
    withheld = drawn_values = 0
    for unit in ("month", "week"):  # November 2026: incidence in two districts; its week: one withheld
        answers = []
        _open(page, f"{hub.url}/console/diseases?unit={unit}&as_of={AS_OF}", answers)
        rows = {code: (value, suppressed) for code, value, suppressed
                in page.locator("#card-places").evaluate(_PLACE_ROWS)}
        drawn = _drawn(page)
        assert set(drawn) == {"330105", "330106", "330109"} and set(rows) <= set(drawn) and rows
        for code in drawn:
            value, suppressed = rows.get(code, ("", "false"))
            assert _same(drawn[code], value, suppressed), (unit, code, drawn[code], rows.get(code))
            withheld += suppressed == "true"
            drawn_values += drawn[code][0] is not None
        shown = page.locator("#card-map tbody tr").evaluate_all("""rows => rows.map(row => {
            const td = row.querySelector("td.num"); return [row.dataset.code, td.dataset.suppressed, td.textContent]; })""")
        for code, suppressed, text in shown:
            if suppressed == "true":
                assert text == "—", text  # a withheld cell: no number, in the map's table too
        assert sum("/console/api/diseases/places" in url for url in answers) == 1  # the card's; the map asked none
    assert withheld and drawn_values  # both cases were seen
