"""The pivot browser in a real browser: a pivot built in the page equals the cube API's export of the
same body, both downloads hold exactly the cells shown (suppression included), an export without the
CSRF token is refused, and a district analyst's pivot and export hold only its district."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import select

from hub.audit import AuditEvent

from .conftest import build_pivot, login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-12-01"  # last 3 months: September to November 2026 (tests/cubes/scenario.py MONTHS)
WITHHELD_SHOWN, WITHHELD_FILED = "—", "*"


def _build(page, hub, **choice) -> None:
    """Choose a pivot in the page as a person would, and show it."""
    build_pivot(page, hub, as_of=AS_OF, **choice)


def _shown(page) -> list[list[str]]:
    """The table as a reader has it: the header, then each line's captions and entries (withheld: —)."""
    table = [page.locator("#pivot-cells thead th").all_inner_texts()]
    for row in page.locator("#pivot-cells tbody tr").all():
        line = []
        for cell in row.locator("td").all():
            if cell.get_attribute("data-withheld") == "true":
                assert cell.inner_text() == WITHHELD_SHOWN and cell.get_attribute("data-value") == ""
                line.append(WITHHELD_SHOWN)
            elif cell.get_attribute("data-withheld") == "false":
                line.append(cell.get_attribute("data-value"))
            else:
                line.append(cell.inner_text())
        table.append(line)
    return table


def _same(filed: list[list], shown: list[list[str]]) -> None:
    """A file's rows equal the shown table: the same texts, the same numbers, withheld where withheld."""
    assert len(filed) == len(shown)
    assert [str(title) for title in filed[0]] == shown[0]
    for got, want in zip(filed[1:], shown[1:]):
        assert len(got) == len(want)
        for value, text in zip(got, want):
            if text == WITHHELD_SHOWN:
                assert value == WITHHELD_FILED
            elif value in (None, ""):
                assert text == ""
            elif isinstance(value, (int, float)) or text.replace(".", "", 1).lstrip("-").isdigit():
                assert float(value) == pytest.approx(float(text)), (got, want)
            else:
                assert str(value) == text


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _download(page, button: str, fmt: str) -> bytes:
    """A file downloaded by clicking ``button``: named by the hub (cube, period, time), its bytes."""
    with page.expect_download() as download:
        page.click(button)
    assert download.value.suggested_filename.endswith(f".{fmt}")
    return Path(download.value.path()).read_bytes()


def _exports(hub, member: str) -> list[AuditEvent]:
    with hub.hub.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == "cube.export",
                                                             AuditEvent.member == member)))


def test_a_pivot_in_the_page_is_the_cube_apis_and_both_downloads_hold_exactly_its_cells(page, console_hub):
    login(page, console_hub, "city")
    _build(page, console_hub, cube="visits", measures=["visits"], indicators=["charge_per_visit"],
           rows=["institution.department"], columns=["date.month"], filters={"institution.institution": ["H01"]})
    shown = _shown(page)
    withheld = sum(line.count(WITHHELD_SHOWN) for line in shown[1:])
    assert withheld, "the scenario's department cells hold fewer than five visits: some must be withheld"
    assert shown[-1][0] == "合计" and len(shown[0]) == 1 + 2 * 4  # two values × (3 months + 合计)
    body = {"measures": ["visits"], "indicators": ["charge_per_visit"], "rows": ["institution.department"],
            "columns": ["date.month"], "filters": [{"level": "institution.institution", "in": ["H01"]}],
            "period": {"last": 3, "unit": "month", "as_of": AS_OF}}
    api = requests.post(f"{console_hub.url}/api/cubes/visits/export?format=csv", json=body, timeout=30,
                        headers={"Authorization": f"Bearer {console_hub.tokens['B01']}"})
    assert api.status_code == 200, api.text
    _same(_csv(api.content), shown)  # the page shows what the cube API exports for the same member scope
    before = len(_exports(console_hub, "console:city"))
    _same(_csv(_download(page, "#pivot-export-csv", "csv")), shown)
    book = load_workbook(io.BytesIO(_download(page, "#pivot-export-xlsx", "xlsx")), read_only=True)
    _same([list(line) for line in book["数据"].iter_rows(values_only=True)], shown)
    about = {key: text for key, text in book["说明"].iter_rows(values_only=True)}
    assert about["导出者"] == "console:city" and about["被抑制的格"] == str(
        sum(1 for line in shown[1:-1] for text in line[1:4] if text == WITHHELD_SHOWN))
    audited = _exports(console_hub, "console:city")[before:]
    assert [(event.detail, event.message_id) for event in audited] == [("visits.csv", None), ("visits.xlsx", None)]


def test_a_district_analysts_pivot_and_export_hold_its_district_only_and_need_the_csrf_token(page, console_hub):
    login(page, console_hub, "xihu")
    _build(page, console_hub, cube="visits", measures=["visits"], rows=["institution.district"],
           columns=["institution_type.kind"], period="last_12_months")
    shown = _shown(page)
    assert [line[0] for line in shown[1:]] == ["西湖区", "合计"]
    assert page.locator("select[data-axis='institution.district'] option[value='filter']").count() == 1
    members = page.request.get(f"{console_hub.url}/console/api/pivot/members?cube=visits&level=institution.district")
    assert [member["code"] for member in members.json()["members"]] == ["330106"]
    _same(_csv(_download(page, "#pivot-export-csv", "csv")), shown)
    body = {"cube": "visits", "measures": ["visits"], "rows": ["institution.institution"],
            "filters": [{"level": "institution.district", "in": ["330105", "330106"]}],
            "period": {"last": 12, "unit": "month", "as_of": AS_OF}}
    token = page.get_attribute("meta[name='csrf-token']", "content")
    url = f"{console_hub.url}/console/api/pivot/export?format=csv"
    refused = page.request.post(url, data=body)
    assert refused.status == 403 and refused.json()["code"] == "access.denied"
    forged = page.request.post(url, data=body, headers={"X-CSRF-Token": "forged"})
    assert forged.status == 403
    filed = _csv(page.request.post(url, data=body, headers={"X-CSRF-Token": token}).body())
    api = {member: _csv(requests.post(f"{console_hub.url}/api/cubes/visits/export?format=csv", json=body, timeout=30,
                                      headers={"Authorization": f"Bearer {console_hub.tokens[member]}"}).content)
           for member in ("B02", "B01")}  # the district's bureau, and the city's
    assert [line[0] for line in filed] == [line[0] for line in api["B02"]]
    assert len(filed) == 1 + 3 + 1  # 西湖区's three institutions and the total line
    assert len(api["B01"]) > len(filed)  # the city sees 拱墅区's institutions too: scope, not the filter, cut them
    table = page.request.post(f"{console_hub.url}/console/api/pivot", data=body, headers={"X-CSRF-Token": token})
    assert [line[0]["text"] for line in table.json()["lines"]] == [line[0] for line in filed[1:]]


def test_an_operator_has_no_pivot(page, console_hub):
    from hub.store.db import transaction
    from hub.web.console.users import create
    from protocol.timestamps import utcnow

    from .conftest import PASSWORD

    with transaction(console_hub.hub.sessions) as session:
        create(session, username="pivot-operator", password=PASSWORD, role="operator", now=utcnow(),
               region_code="330100")
    login(page, console_hub, "pivot-operator")
    assert page.locator("header.top nav a[href='/console/pivot']").count() == 0
    assert page.goto(f"{console_hub.url}/console/pivot").status == 403
    token = page.get_attribute("meta[name='csrf-token']", "content")
    refused = page.request.post(f"{console_hub.url}/console/api/pivot", headers={"X-CSRF-Token": token},
                                data={"cube": "visits", "measures": ["visits"], "rows": ["institution.district"]})
    assert refused.status == 403 and refused.json()["code"] == "access.denied"
