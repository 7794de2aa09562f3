"""A hospital card's CSV and XLSX hold what the card shows, in a real browser against the console's hub:
本期, 上期, 去年同期 and the two changes (环比, 同比) per row, the changes being the numbers on the card
(one server-side computation for both), a withheld value ``*`` and a change beside it ``*`` too."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from openpyxl import load_workbook

from .conftest import login

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                             "(pip install -e '.[test]')").expect
AS_OF = "2026-11-15"  # tests/cubes/scenario.py: data in Sep–Nov 2025 and Sep–Nov 2026
SERIES = ("current", "previous", "year_ago")
CHANGES = {"change": "previous", "yoy": "year_ago"}
HEADER = ["科室", "本期（人次）", "上期（人次）", "去年同期（人次）", "环比（%）", "同比（%）"]

# {row name: {series or change: (data-value, data-suppressed, text)}} as the card's table shows it
_READ_CARD = """card => Object.fromEntries([...card.querySelectorAll("tbody tr")].map(row => [
    row.querySelector("td.name").innerText.trim(),
    Object.fromEntries([...row.querySelectorAll("td[data-series], td[data-change]")].map(td =>
        [td.dataset.series || td.dataset.change, [td.dataset.value, td.dataset.suppressed, td.innerText.trim()]]))]))"""


def _download(page, card: str, fmt: str) -> list[list]:
    with page.expect_download() as download:
        page.click(f"#card-{card} button.export[data-format='{fmt}']")
    content = Path(download.value.path()).read_bytes()
    if fmt == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO(content))
    assert all(cell.data_type != "f" for ws in book for row in ws.iter_rows() for cell in row)  # values only
    about = {key: text for key, text in book["说明"].iter_rows(values_only=True)}
    assert about["导出者"] == "console:city" and about["本期"] == "2026-11-01 至 2026-11-30"
    assert about["上期"] == "2026-10-01 至 2026-10-31" and "任一侧被抑制时同样标为 *" in about["环比、同比"]
    assert download.value.suggested_filename.startswith("hospital_visits_20261101_20261130_")
    return [list(line) for line in book["数据"].iter_rows(values_only=True)]


def _as_shown(change: float) -> str:
    """A change as the card writes it: signed, one decimal, per cent."""
    return ("+" if change > 0 else "") + f"{change + 0.0:.1f}%"


def _check(page, card: str, shown: dict[str, dict], header: list[str]) -> None:
    """Both files of ``card`` hold its rows as ``shown``: values, withheld ``*`` and the changes' numbers."""
    for row in shown.values():  # a change beside a withheld value is withheld on the card too
        for name, base in CHANGES.items():
            if "true" in (row["current"][1], row[base][1]):
                assert row[name][1] == "true" and row[name][2] == "—"
    for fmt in ("csv", "xlsx"):
        lines = _download(page, card, fmt)
        assert lines[0] == header
        assert [line[0] for line in lines[1:]] == list(shown)  # the card's rows, no total: the card has none
        for line in lines[1:]:
            row = shown[line[0]]
            for item, name in zip(line[1:], (*SERIES, *CHANGES), strict=True):
                value, suppressed, text = row[name]
                if suppressed == "true":
                    assert item == "*" and text == "—", (line[0], name)
                elif value == "":
                    assert item in ("", None) and text == "—", (line[0], name)
                else:
                    assert math.isclose(float(item), float(value)), (line[0], name, item, value)
                    if name in CHANGES:
                        assert text == _as_shown(float(item))  # the card's number is the file's
                        now, before = float(row["current"][0]), float(row[CHANGES[name]][0])
                        assert float(item) == round((now - before) / abs(before) * 100, 1)


def _card(page, hub, card: str, query: str) -> dict[str, dict]:
    assert page.goto(f"{hub.url}/console/hospital?unit=month&as_of={AS_OF}{query}").status == 200
    expect(page.locator(".card[data-state='loading']")).to_have_count(0)
    page.locator(f"#card-{card} .toggle").click()
    return page.locator(f"#card-{card}").evaluate(_READ_CARD)


def test_a_hospital_cards_files_hold_its_values_and_changes_as_shown(page, console_hub):
    login(page, console_hub, "city")
    districts = _card(page, console_hub, "visits", "")  # the city's districts: counts and changes shown
    assert any(row["change"][0] for row in districts.values()) and any(row["yoy"][0] for row in districts.values())
    _check(page, "visits", districts, ["区县", *HEADER[1:]])
    departments = _card(page, console_hub, "visits", "&institution=H01")  # one institution's departments
    assert any(cell[1] == "true" for row in departments.values() for cell in row.values())  # small counts withheld
    _check(page, "visits", departments, HEADER)
