"""A hospital indicator card's table as a CSV or XLSX file: exactly the rows the card shows.

Each row holds 本期, 上期, 去年同期 and the two changes (环比, 同比) from :func:`hospital.chart` — the
function the page reads — so the file and the page cannot disagree. A withheld value is ``*``, and so
is a change beside one (with the other value it would give the withheld one back). The card shows no
total, and the file has none. Text a spreadsheet would run as a formula is written as text.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill

from olap.cubes import Scope
from olap.cubes.export import NUMBER_FORMATS, SUPPRESSION_RULE, WITHHELD
from olap.cubes.pivot import Style

from .hospital import CHANGES, HospitalIndicator
from .i18n import labels

SERIES = ("current", "previous", "year_ago")
COLUMNS = (*SERIES, *CHANGES)  # current, previous, year_ago, change, yoy
CHANGE_FORMAT = '+0.0"%";-0.0"%";0.0"%"'
CHANGE_RULE = ("环比 = (本期 − 上期) / |上期| × 100%，同比 = (本期 − 去年同期) / |去年同期| × 100%，保留一位小数；"
               "任一侧无数据或上期（去年同期）为 0 时为空；任一侧被抑制时同样标为 *（否则可由另一值推算出被抑制的值）。")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ZH = labels("zh")


def _text(value: str) -> str:
    """Text as text: never a formula in a spreadsheet, no characters XML cannot hold."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def header(indicator: HospitalIndicator, level: str) -> list[str]:
    unit = f"（{indicator.unit}）"
    return [_ZH["level." + level.split(".")[1]], _ZH["period.current"] + unit, _ZH["period.previous"] + unit,
            _ZH["period.year_ago"] + unit, _ZH["cell.change"] + "（%）", _ZH["cell.yoy"] + "（%）"]


def lines(cells: list[dict]) -> list[list]:
    """The card's rows: the name, then each column's number, None (no data) or ``*`` (withheld)."""
    return [[_text(cell["label"]), *(WITHHELD if cell["suppressed"][name] else cell[name] for name in COLUMNS)]
            for cell in cells]


def to_csv(indicator: HospitalIndicator, chart: dict) -> bytes:
    """The card as CSV: a BOM (so Excel reads UTF-8), one header row, one line per row of the card."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header(indicator, chart["level"]))
    writer.writerows([["" if item is None else item for item in line] for line in lines(chart["cells"])])
    return out.getvalue().encode("utf-8-sig")


def _style(indicator: HospitalIndicator) -> Style:
    return Style.INT if indicator.is_measure else Style.MONEY if indicator.unit == "元" else Style.DECIMAL


def about_lines(indicator: HospitalIndicator, chart: dict, *, scope: str, member: str,
                generated_at: datetime) -> list[tuple[str, str]]:
    periods = chart["periods"]
    return [("指标", f"{_ZH['indicator.' + indicator.key]}（{indicator.cube}：{indicator.name}，{indicator.unit}）"),
            ("行", _ZH["level." + chart["level"].split(".")[1]]),
            ("本期", f"{periods['current']['from']} 至 {periods['current']['to']}"),
            ("上期", f"{periods['previous']['from']} 至 {periods['previous']['to']}"),
            ("去年同期", "本期前推一年"), ("环比、同比", CHANGE_RULE),
            ("数据范围", scope), ("导出者", member or "—"), ("生成时间", generated_at.isoformat(timespec="seconds")),
            ("小格抑制规则", SUPPRESSION_RULE), ("被抑制的格", str(chart.get("suppressed_cells", 0)))]


def to_xlsx(indicator: HospitalIndicator, chart: dict, *, about: list[tuple[str, str]]) -> bytes:
    """The card as a workbook: sheet 数据 (bold frozen header, number formats, values only) and 说明."""
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    formats = [NUMBER_FORMATS[_style(indicator)]] * len(SERIES) + [CHANGE_FORMAT] * len(CHANGES)
    for col, title in enumerate(header(indicator, chart["level"]), start=1):
        cell = sheet.cell(row=1, column=col, value=title)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="center")
    for row, line in enumerate(lines(chart["cells"]), start=2):
        name = sheet.cell(row=row, column=1, value=line[0])
        name.data_type, name.font = "s", bold
        for col, item in enumerate(line[1:], start=2):
            cell = sheet.cell(row=row, column=col)
            if item == WITHHELD:
                cell.value, cell.data_type, cell.alignment = WITHHELD, "s", Alignment(horizontal="right")
            elif item is not None:
                cell.value, cell.number_format = item, formats[col - 2]
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 24
    notes = book.create_sheet("说明")
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 14, 100
    for row, (key, text) in enumerate(about, start=1):
        for col, value in ((1, key), (2, text)):
            cell = notes.cell(row=row, column=col, value=_text(value))
            cell.data_type, cell.alignment = "s", Alignment(wrap_text=True, vertical="top")
        notes.cell(row=row, column=1).font = bold
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def scope_words(scope: Scope) -> str:
    """The viewer's scope in words for the 说明 sheet."""
    if scope.institutions is not None:
        return "本机构：" + ("、".join(sorted(scope.institutions)) or "无")
    if scope.districts is not None:
        return "区县：" + ("、".join(sorted(scope.districts)) or "无")
    return "全部区县（不限范围）"


def filenames(indicator: HospitalIndicator, chart: dict, fmt: str, *, generated_at: datetime) -> tuple[str, str]:
    """An ASCII file name (indicator, period, time) and the same with the indicator's Chinese name."""
    current = chart["periods"]["current"]
    span = f"_{current['from']}_{current['to']}".replace("-", "")
    stamp = generated_at.strftime("%Y%m%dT%H%M")
    plain = re.sub(r"[^A-Za-z0-9_.-]", "_", f"hospital_{indicator.key}{span}_{stamp}.{fmt}")
    return plain, f"{_ZH['indicator.' + indicator.key]}{span}_{stamp}.{fmt}"


__all__ = ["COLUMNS", "CHANGE_RULE", "header", "lines", "to_csv", "to_xlsx", "about_lines", "scope_words", "filenames"]
