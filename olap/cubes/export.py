"""A pivot as a file: CSV (UTF-8 with BOM, one header row) or XLSX (openpyxl, values only).

Both hold exactly the pivot's entries: numbers as the cube gives them (fen shown in yuan), nothing
for no data, and :data:`WITHHELD` where the cube or the totals' protection withheld a value. Text
that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is written as text.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .errors import CubeError
from .pivot import Entry, Pivot, Style
from .suppress import THRESHOLD

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
WITHHELD = "*"
NUMBER_FORMATS = {Style.INT: "#,##0", Style.MONEY: '"¥"#,##0.00', Style.PERCENT: '0.00"%"',
                  Style.DECIMAL: "#,##0.00"}
SUPPRESSION_RULE = (
    f"小格抑制：人次、人数等个人层面的计数为 1–{THRESHOLD - 1} 的格不公布（标为 {WITHHELD}，0 照常公布）；"
    "为防止用边际合计相减推算，同一边际组中只有一个被抑制格时，另一最小的格也不公布。"
    f"合计同样受保护：若公布某合计会让读者用它减去其他格推算出被抑制的格，该合计也标为 {WITHHELD}。"
    "空白表示无数据或比率无定义（分母为 0）。")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class About:
    """What the file says about itself besides the query: whose view of the data, and when."""

    scope: str
    generated_at: datetime
    member: str = ""


def _text(value: str) -> str:
    """Text as text: never a formula in a spreadsheet, no characters XML cannot hold."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_value(item: str | Entry) -> str | int | float:
    if isinstance(item, str):
        return _text(item)
    if item.withheld:
        return WITHHELD
    return "" if item.value is None else item.value


def to_csv(pivot: Pivot) -> bytes:
    """The pivot as CSV: a BOM (so Excel reads UTF-8), one header row, then the lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_text(title) for title in pivot.header()])
    for line in pivot.lines():
        writer.writerow([_csv_value(item) for item in line])
    return out.getvalue().encode("utf-8-sig")


def _about_lines(pivot: Pivot, about: About) -> list[tuple[str, str]]:
    query, answer, cube = pivot.query, pivot.answer, pivot.cube
    period = answer.get("period")
    compare = answer.get("compare_period")
    filters = "；".join(f"{pivot.level_title(f.level)}（{f.level}）= {', '.join(f.values)}" for f in query.filters)
    lines = [("立方体", f"{cube.title}（{cube.name}）"),
             ("行", "、".join(f"{pivot.level_title(lv)}（{lv}）" for lv in pivot.row_levels) or "—"),
             ("列", "、".join(f"{pivot.level_title(lv)}（{lv}）" for lv in pivot.column_levels) or "—")]
    lines += [("指标", f"{v.heading}：{v.name}" + (f"，{v.definition}" if v.definition else ""))
              for v in pivot.values]
    lines += [("筛选", filters or "无"),
              ("期间", f"{period['from']} 至 {period['to']}" if period else "全部"),
              ("对比期间", f"{compare['from']} 至 {compare['to']}" if compare else "—"),
              ("排序 / 前 N", f"{[(k.by, 'desc' if k.descending else 'asc') for k in query.sort] or '默认'}"
                              f" / {query.top or '全部'}"),
              ("数据范围", about.scope), ("导出者", about.member or "—"),
              ("生成时间", about.generated_at.isoformat(timespec="seconds")),
              ("小格抑制规则", SUPPRESSION_RULE),
              ("被抑制的格", str(answer.get("suppression", {}).get("suppressed_cells", 0)))]
    lines += [("合计", note) for note in pivot.notes]
    lines += [("数据来源", ", ".join(f"{k}: {v}" for k, v in answer.get("sources", {}).items()) or "—")]
    return lines


def to_xlsx(pivot: Pivot, *, about: About) -> bytes:
    """The pivot as a workbook: sheet 数据 (bold frozen headers, number formats, values only) and 说明."""
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    levels = len(pivot.row_levels)
    styles = [None] * levels + [value.style for value in pivot.values
                                for _ in range(len(pivot.columns) + 1 if pivot.column_levels else 1)]
    for col, title in enumerate(pivot.header(), start=1):
        cell = sheet.cell(row=1, column=col, value=_text(title))
        cell.data_type = "s"
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(col)].width = 18 if col <= levels else 16
    lines = pivot.lines()
    for row, line in enumerate(lines, start=2):
        total_line = bool(pivot.row_levels) and row == len(lines) + 1
        for col, item in enumerate(line, start=1):
            cell = sheet.cell(row=row, column=col)
            if isinstance(item, str):
                cell.value = _text(item)
                cell.data_type = "s"
                cell.font = bold if total_line or col <= levels else cell.font
            elif item.withheld:
                cell.value = WITHHELD
                cell.data_type = "s"
                cell.alignment = Alignment(horizontal="right")
            elif item.value is not None:
                cell.value = item.value
                cell.number_format = NUMBER_FORMATS[styles[col - 1]]
            if total_line:
                cell.font = bold
    sheet.freeze_panes = sheet.cell(row=2, column=levels + 1)
    notes = book.create_sheet("说明")
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 14, 100
    for row, (key, text) in enumerate(_about_lines(pivot, about), start=1):
        for col, value in ((1, key), (2, text)):
            cell = notes.cell(row=row, column=col, value=_text(value))
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        notes.cell(row=row, column=1).font = bold
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(pivot: Pivot, fmt: str, *, about: About) -> bytes:
    """The pivot in ``fmt`` (csv or xlsx); ``cube.export.format`` otherwise."""
    if fmt == "csv":
        return to_csv(pivot)
    if fmt == "xlsx":
        return to_xlsx(pivot, about=about)
    raise CubeError("cube.export.format", "export format is csv or xlsx", field="/format")


def filenames(pivot: Pivot, fmt: str, *, generated_at: datetime) -> tuple[str, str]:
    """An ASCII file name (cube, period, time) and the same with the cube's Chinese title."""
    period = pivot.answer.get("period")
    span = f"_{period['from']}_{period['to']}".replace("-", "") if period else ""
    stamp = generated_at.strftime("%Y%m%dT%H%M")
    ascii_name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{pivot.cube.name}{span}_{stamp}.{fmt}")
    title = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", pivot.cube.title or pivot.cube.name)
    return ascii_name, f"{title}{span}_{stamp}.{fmt}"


__all__ = ["FORMATS", "MEDIA_TYPES", "WITHHELD", "NUMBER_FORMATS", "SUPPRESSION_RULE", "About", "to_csv", "to_xlsx",
           "render", "filenames"]
