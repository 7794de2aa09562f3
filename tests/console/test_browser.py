"""The console in a real browser (Debian's chromium via Playwright) against a hub with real data:
sign-in and out, a wrong password, expiry, CSRF, scope, the hospital dashboard against the cube API,
a drill-down, suppressed cells, and no request leaving 127.0.0.1."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select, update

from hub.audit import AuditEvent
from hub.store.db import transaction
from hub.web.console.models import ConsoleSession
from protocol.timestamps import utcnow

from .conftest import PASSWORD, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"  # November 2026 against October 2026 and November 2025 (tests/cubes/scenario.py MONTHS)


def _dashboard(page, hub, **params) -> None:
    query = "&".join(f"{name}={value}" for name, value in {"unit": "month", "as_of": AS_OF, **params}.items())
    page.goto(f"{hub.url}/console/hospital?{query}")
    _charts_loaded(page)


def _charts_loaded(page) -> None:
    # (no wait_for_function: the page's Content-Security-Policy forbids the eval it uses)
    expect(page.locator(".card")).to_have_count(6)
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)


def _audit(hub, event_type: str) -> list[AuditEvent]:
    with hub.hub.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_sign_in_shows_the_dashboard_and_sign_out_ends_the_session(page, console_hub):
    login(page, console_hub, "xihu")
    assert page.url.endswith("/console/hospital")
    assert "xihu" in page.inner_text("#who") and "分析员" in page.inner_text("#who")
    assert page.inner_text("h1") == "医院运行指标"  # Chinese by default
    assert any(event.member == "console:xihu" for event in _audit(console_hub, "console.login"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "hie_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("#logout")
    page.wait_for_url("**/console/login")
    page.goto(f"{console_hub.url}/console/hospital")
    assert "/console/login" in page.url  # the session is gone, not only the cookie


def test_a_wrong_password_is_refused_in_one_line_and_audited_without_the_password(page, console_hub):
    login(page, console_hub, "xihu", password="wrong password 1")
    assert "/console/login" in page.url
    assert page.inner_text("#login-error") == "用户名或密码错误，或账户已停用。"
    rejected = [e for e in _audit(console_hub, "console.login.reject") if e.member == "console:xihu"]
    assert rejected and rejected[-1].outcome == "failure" and rejected[-1].code == "console.login.password"
    with console_hub.hub.sessions() as session:
        rows = session.execute(select(AuditEvent)).scalars().all()
    assert not any("wrong password" in str(value) for row in rows for value in vars(row).values())


def test_an_expired_session_sends_the_browser_back_to_the_login(page, console_hub):
    login(page, console_hub, "xihu")
    with transaction(console_hub.hub.sessions) as session:
        session.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    page.goto(f"{console_hub.url}/console/hospital")
    assert "/console/login" in page.url and "会话已过期" in page.inner_text("main")
    answer = page.request.get(f"{console_hub.url}/console/api/hospital/visits?as_of={AS_OF}")
    assert answer.status == 403 and answer.json()["code"] == "access.denied"


def test_state_changing_requests_without_the_csrf_token_are_refused(page, console_hub):
    login(page, console_hub, "xihu")
    logout = page.request.post(f"{console_hub.url}/console/logout", form={"csrf_token": "forged"},
                               max_redirects=0)
    assert logout.status == 403
    page.goto(f"{console_hub.url}/console/hospital")
    assert page.url.endswith("/console/hospital")  # still signed in: the forged logout did nothing
    plain = requests.post(f"{console_hub.url}/console/login", timeout=10, allow_redirects=False,
                          data={"username": "xihu", "password": PASSWORD})
    assert plain.status_code == 403 and "hie_console=" not in plain.headers.get("set-cookie", "")


def test_a_district_analyst_cannot_reach_another_district(page, console_hub):
    login(page, console_hub, "xihu")
    response = page.goto(f"{console_hub.url}/console/hospital?as_of={AS_OF}&district=330105")
    assert response.status == 403 and page.locator("#refused").is_visible()
    response = page.goto(f"{console_hub.url}/console/hospital?as_of={AS_OF}&institution=H02")
    assert response.status == 403
    for query in ("district=330105", "institution=H02", "institution=C03"):
        answer = page.request.get(f"{console_hub.url}/console/api/hospital/visits?as_of={AS_OF}&{query}")
        assert answer.status == 403 and answer.json()["code"] == "access.denied", query
    own = page.request.get(f"{console_hub.url}/console/api/hospital/visits?as_of={AS_OF}").json()
    assert {cell["code"] for cell in own["cells"]} == {"330106"}


def _table(page, indicator: str) -> dict[str, dict[str, str]]:
    """{code: {series: data-value}} read from an indicator's table, after clicking to it."""
    card = page.locator(f"#card-{indicator}")
    card.locator(".toggle").click()
    assert card.locator(".table").is_visible()
    found = {}
    for row in card.locator("tbody tr").all():
        found[row.get_attribute("data-code")] = {
            cell.get_attribute("data-series"): (cell.get_attribute("data-value"), cell.get_attribute("data-suppressed"),
                                                cell.inner_text())
            for cell in row.locator("td[data-series]").all()}
    return found


@pytest.mark.parametrize("username", ["city", "xihu", "h01admin"])
def test_the_dashboards_numbers_are_the_cube_apis(page, console_hub, username):
    from .conftest import EQUIVALENT_MEMBER

    login(page, console_hub, username)
    _dashboard(page, console_hub)
    member = EQUIVALENT_MEMBER[username]
    compared = 0
    for indicator in ("visits", "admissions", "daily_workload_per_staff", "charge_per_visit", "charge_per_bed_day",
                      "revenue_per_100_fixed_assets"):
        shown = _table(page, indicator)
        chart = page.request.get(f"{console_hub.url}/console/api/hospital/{indicator}?unit=month&as_of={AS_OF}").json()
        queries = chart["queries"]
        current = console_hub.cube(member, queries["cube"], queries["current"])
        previous = console_hub.cube(member, queries["cube"], queries["previous"])
        name, level = (current["measures"] + current["indicators"])[0], chart["level"]
        assert set(shown) == {cell[level] for cell in current["cells"]} | {cell[level] for cell in previous["cells"]}
        for series, cells in (("current", current["cells"]), ("previous", previous["cells"]),
                              ("year_ago", [{**c["year_ago"], level: c[level]} for c in current["cells"]])):
            for cell in cells:
                code = cell[level]
                if code not in shown:
                    continue
                value, suppressed, text = shown[code][series]
                if cell["suppressed"]:
                    assert suppressed == "true" and value == "" and text == "—"
                else:
                    assert value != "" and float(value) == pytest.approx(cell[name]), (indicator, series, code)
                    compared += 1
    assert compared >= 15  # six indicators × three periods, a few periods without data
    if username == "h01admin":  # an institution's user starts at its institution, and sees only it
        assert level == "institution.institution" and set(shown) == {"H01"}


def test_drill_from_district_to_institution_to_departments_never_shows_suppressed_cells(page, console_hub):
    login(page, console_hub, "city")
    _dashboard(page, console_hub)
    page.locator("#card-visits .toggle").click()
    page.locator("#card-visits tr[data-code='330106'] a.drill").click()
    page.wait_for_url("**district=330106**")
    _charts_loaded(page)
    assert set(_table(page, "visits")) == {"H01", "C01", "C02"}
    assert "西湖区" in page.inner_text("#crumbs")
    page.locator("#card-visits tr[data-code='H01'] a.drill").click()
    page.wait_for_url("**institution=H01**")
    _charts_loaded(page)
    departments = _table(page, "visits")
    assert departments and set(departments) <= {"03.04", "03.03", "02"}
    withheld = [cell for row in departments.values() for cell in row.values() if cell[1] == "true"]
    assert withheld, "the scenario's department cells hold fewer than five visits: some must be suppressed"
    assert all(value == "" and text == "—" for value, _, text in withheld)
    api = page.request.get(f"{console_hub.url}/console/api/hospital/visits?unit=month&as_of={AS_OF}"
                           "&institution=H01").json()
    for cell in api["cells"]:  # the endpoint itself carries no withheld value
        for series in ("current", "previous", "year_ago"):
            if cell["suppressed"][series]:
                assert cell[series] is None
    assert page.locator("#card-daily_workload_per_staff").get_attribute("data-state") == "not_available"
    assert page.requested and all(urlsplit(url).hostname == "127.0.0.1" for url in page.requested), \
        sorted({urlsplit(url).hostname for url in page.requested})  # (every test's page is checked too: conftest)


def test_weeks_and_years(page, console_hub):
    login(page, console_hub, "xihu")
    _dashboard(page, console_hub)
    with page.expect_response("**/console/api/hospital/visits?*") as week:
        page.click("#unit-week")
    assert week.value.json()["periods"] == {"current": {"from": "2026-11-09", "to": "2026-11-15"},
                                            "previous": {"from": "2026-11-02", "to": "2026-11-08"}}
    _charts_loaded(page)
    assert "unit=week" in page.url and "active" in page.get_attribute("#unit-week", "class")
    with page.expect_response("**/console/api/hospital/visits?*") as year:
        page.click("#unit-year")
    assert year.value.json()["periods"]["previous"] == {"from": "2025-01-01", "to": "2025-12-31"}


def test_english_on_request_and_numbers_formatted_alike_in_python_and_javascript(page, console_hub):
    from hub.web.console.i18n import format_number

    login(page, console_hub, "xihu")
    _dashboard(page, console_hub, lang="en")
    assert page.inner_text("h1") == "Hospital indicators"
    page.goto(f"{console_hub.url}/console/hospital?as_of={AS_OF}")
    assert page.inner_text("h1") == "Hospital indicators"  # the choice is kept
    samples = [(0, ""), (7, "人次"), (9999, "人次"), (12345, "人次"), (123456789, "人次"), (6.5, "元"),
               (1234.5, "元"), (98765.4321, "元"), (-25000, "元"), (None, "元"), (2.375, "%")]
    for lang in ("zh", "en"):
        shown = page.evaluate("([samples, lang]) => samples.map(([v, u]) => HIE.formatNumber(v, u, lang))",
                              [samples, lang])
        assert shown == [format_number(value, unit=unit, lang=lang) for value, unit in samples]


def test_each_chart_loads_on_its_own_so_one_failing_holds_none_of_the_others(page, console_hub):
    login(page, console_hub, "city")
    page.route("**/console/api/hospital/visits?*", lambda route: route.abort())
    _dashboard(page, console_hub)
    assert page.locator("#card-visits").get_attribute("data-state") == "failed"
    assert "数据加载失败" in page.inner_text("#card-visits .status")
    loaded = page.locator(".card[data-state='loaded']")
    expect(loaded).to_have_count(5)
    assert page.locator("#card-admissions canvas").count() >= 1  # ECharts drew the others
