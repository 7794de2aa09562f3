"""Cube exports: the file holds exactly the /query cells (withheld ones withheld), totals come from the
cube and never let a withheld cell be worked out, the caller's scope applies, errors are codes."""
from __future__ import annotations

import csv
import io
import math

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from protocol.timestamps import utcnow

from . import oracle
from .checks import WHOLE

WITH_C04 = {"from": "2025-08-01", "to": "2025-11-30"}  # C04's three visits in August 2025: withheld
AUG_SEP_2025 = {"from": "2025-08-01", "to": "2025-09-30"}
BODY = {"measures": ["visits", "total_fen"], "indicators": ["charge_per_visit"], "period": WITH_C04,
        "rows": ["institution.institution"], "columns": ["date.month"]}


def _headers(api, member):
    return {"Authorization": f"Bearer {api.tokens[member]}"}


def query(api, member, cube, body) -> dict:
    plain = {k: v for k, v in body.items() if k not in ("rows", "columns")}
    response = api.post(f"/api/cubes/{cube}/query", headers=_headers(api, member),
                        json={**plain, "group_by": [*body["rows"], *body["columns"]], "labels": True})
    assert response.status_code == 200, response.text
    return response.json()


def export(api, member, cube, body, fmt):
    return api.post(f"/api/cubes/{cube}/export?format={fmt}", headers=_headers(api, member), json=body)


def table(response, fmt) -> tuple[list[str], list[list]]:
    """Header and lines of an export; numbers as floats, withheld as '*', nothing as None."""
    assert response.status_code == 200, response.text
    if fmt == "csv":
        assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
        header, *lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        def value(text_):
            return None if text_ == "" else text_ if text_ == "*" else float(text_)
        return header, [line[:1] + [value(v) for v in line[1:]] for line in lines]
    sheet = load_workbook(io.BytesIO(response.content))["数据"]
    header, *lines = [list(row) for row in sheet.iter_rows(values_only=True)]
    return header, [line[:1] + [float(v) if isinstance(v, (int, float)) else v for v in line[1:]] for line in lines]


def entries(header, lines) -> dict[tuple[str, str, str], object]:
    """(row caption, value heading, column caption) -> entry, for every entry that is not empty."""
    out = {}
    for line in lines:
        for title, item in zip(header[1:], line[1:]):
            if item is not None:
                heading, _, column = title.partition("｜")
                out[(line[0], heading, column)] = item
    return out


def expected(answer, body, headings) -> dict[tuple[str, str, str], object]:
    """The same entries from the /query answer: withheld '*', fen in yuan."""
    row, column = body["rows"][0], body["columns"][0]
    names = [*answer["measures"], *answer["indicators"]]
    labels = answer["labels"]
    out = {}
    for cell in answer["cells"]:
        for name, heading in zip(names, headings):
            value = cell[name]
            if value is None and not cell["suppressed"]:
                continue
            shown = "*" if value is None else round(value / 100, 2) if name.endswith("_fen") else float(value)
            out[(labels[row].get(cell[row], cell[row]), heading, labels.get(column, {}).get(cell[column], cell[column]))] = shown
    return out


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_file_holds_exactly_the_query_cells_withheld_ones_withheld(api, fmt):
    answer = query(api, "B01", "visits", BODY)
    assert answer["suppression"]["suppressed_cells"] >= 1
    header, lines = table(export(api, "B01", "visits", BODY, fmt), fmt)
    headings = list(dict.fromkeys(title.partition("｜")[0] for title in header[1:]))
    assert len(headings) == 3 and headings[1] == "charges（元）"
    got = {key: item for key, item in entries(header, lines).items() if "合计" not in (key[0], key[2])}
    assert got == expected(answer, BODY, headings)
    assert got[("合成C04", headings[0], "2025-08")] == "*"


def test_a_cell_alone_in_its_month_and_institution_stays_withheld_in_query_and_export(api, region):
    """C04's 3 visits are alone in their month and their institution: the grand total minus the
    published cells would give them, so the cube withholds another cell as well (the grand total is
    a margin too), and the export's totals do not give them back either."""
    body = {**BODY, "period": AUG_SEP_2025}
    answer = query(api, "B01", "visits", body)
    grand = api.post("/api/cubes/visits/query", headers=_headers(api, "B01"),
                     json={"measures": ["visits"], "period": AUG_SEP_2025}).json()["cells"][0]["visits"]
    truth = oracle.visits(region.engine)
    c04 = int(((truth["institution"] == "C04") & (truth["month"] == "2025-08")).sum())
    assert c04 == 3 and sum(cell["suppressed"] for cell in answer["cells"]) >= 2
    assert grand - sum(c["visits"] for c in answer["cells"] if not c["suppressed"]) != c04
    for fmt in ("csv", "xlsx"):
        header, lines = table(export(api, "B01", "visits", body, fmt), fmt)
        got = entries(header, lines)
        visits = header[1].partition("｜")[0]
        assert got[("合成C04", visits, "2025-08")] == "*" and got[("合成C04", visits, "合计")] == "*"
        published = [v for (row, heading, column), v in got.items()
                     if heading == visits and "合计" not in (row, column) and v != "*"]
        assert sum(published) < grand
        # every total that is published leaves at least two withheld cells behind it
        total = got[("合计", visits, "合计")]
        assert total == "*" or total - sum(published) != c04


def test_a_row_total_with_exactly_one_withheld_cell_is_withheld_with_two_it_is_not():
    from olap.cubes.totals import protect_totals
    one = {(0, 0): True, (0, 1): False, (0, 2): False, (1, 0): False, (1, 1): False, (1, 2): False}
    added = protect_totals(one, rows=2, columns=3, row_totals={0: False, 1: False},
                           column_totals={0: False, 1: False, 2: False}, grand=False)
    assert ("row", 0) in added and ("column", 0) in added and ("grand",) in added
    two = {**one, (0, 1): True, (1, 0): True, (1, 1): True}
    assert protect_totals(two, rows=2, columns=3, row_totals={0: False, 1: False},
                          column_totals={0: False, 1: False, 2: False}, grand=False) == set()
    # rows only: the one column total minus the other cells would give the withheld cell
    lone_row = {(r, 0): r == 1 for r in range(3)}
    assert protect_totals(lone_row, rows=0, columns=1, row_totals={}, column_totals={0: False},
                          grand=None) == {("column", 0)}


def test_ratio_totals_are_recomputed_from_the_summed_parts_and_distinct_totals_are_exact(api):
    body = {"measures": ["visits", "total_fen", "persons"], "indicators": ["charge_per_visit"], "period": WHOLE,
            "rows": ["institution.district"], "columns": ["date.month"]}
    header, lines = table(export(api, "B01", "visits", body, "csv"), "csv")
    got = entries(header, lines)
    visits, charges, persons, charge = list(dict.fromkeys(t.partition("｜")[0] for t in header[1:]))
    districts = {line[0] for line in lines} - {"合计"}
    for district in districts:
        ratios = [v for (row, h, col), v in got.items() if row == district and h == charge and col != "合计"]
        recomputed = got[(district, charges, "合计")] / got[(district, visits, "合计")]
        assert math.isclose(got[(district, charge, "合计")], recomputed, rel_tol=1e-6)
        assert not math.isclose(got[(district, charge, "合计")], sum(ratios) / len(ratios), rel_tol=1e-6)
    whole = api.post("/api/cubes/visits/query", headers=_headers(api, "B01"),
                     json={"measures": ["visits", "persons"], "indicators": ["charge_per_visit"],
                           "period": WHOLE}).json()["cells"][0]
    assert math.isclose(got[("合计", charge, "合计")], whole["charge_per_visit"], rel_tol=1e-9)
    cells = [v for (row, h, col), v in got.items() if h == persons and "合计" not in (row, col)]
    assert got[("合计", persons, "合计")] == whole["persons"] < sum(cells)  # a person counted once


def test_year_ago_values_and_totals(api):
    body = {"measures": ["visits"], "period": {"from": "2026-09-01", "to": "2026-11-30"}, "compare": "year_ago",
            "rows": ["institution.district"], "columns": []}
    answer = query(api, "B01", "visits", body)
    header, lines = table(export(api, "B01", "visits", body, "xlsx"), "xlsx")
    assert header[2].endswith("（去年同期）")
    names = answer["labels"]["institution.district"]
    assert {line[0]: line[2] for line in lines[:-1]} == {names[c["institution.district"]]: c["year_ago"]["visits"]
                                                         for c in answer["cells"]}
    assert lines[-1][0] == "合计" and lines[-1][2] == sum(c["year_ago"]["visits"] for c in answer["cells"])


@pytest.mark.parametrize("member, institutions", [("H01", {"H01"}), ("B02", {"H01", "C01", "C02"})])
def test_an_export_holds_only_the_callers_scope(api, member, institutions):
    body = {**BODY, "period": WHOLE, "filters": [{"level": "institution.district", "in": ["330105", "330106"]}]}
    for fmt in ("csv", "xlsx"):
        _, lines = table(export(api, member, "visits", body, fmt), fmt)
        assert {line[0] for line in lines} == {f"合成{code}" for code in institutions} | {"合计"}


def test_errors_are_one_line_codes_and_the_token_comes_first(api):
    bad = export(api, "B01", "visits", BODY, "pdf")
    assert (bad.status_code, bad.json()) == (400, {"code": "cube.export.format", "field": "/format",
                                                   "message": "export format is csv or xlsx"})
    anonymous = api.post("/api/cubes/visits/export?format=pdf", content=b"{not json")
    assert anonymous.json()["code"] == "access.denied"
    split = export(api, "B01", "visits", {**BODY, "group_by": ["institution.district"]}, "csv")
    assert (split.status_code, split.json()["code"], split.json()["field"]) == (400, "cube.pivot.invalid", "/rows")
    unknown = export(api, "B01", "visits", {**BODY, "rows": ["institution.SECRET"]}, "csv")
    assert unknown.json()["code"] == "cube.level.unknown" and "SECRET" not in unknown.text


def test_the_workbook_is_values_only_formatted_frozen_and_explained(api, region):
    body = {**BODY, "indicators": ["charge_per_visit", "drug_share"]}
    response = export(api, "B02", "visits", body, "xlsx")
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="visits_20250801_20251130_') and ".xlsx\"" in disposition
    assert "filename*=UTF-8''%E9%97%A8%E6%80%A5%E8%AF%8A" in disposition  # 门急诊人次, percent-encoded
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["数据", "说明"]
    sheet = book["数据"]
    assert sheet.freeze_panes == "B2" and sheet["A1"].font.b and sheet["B1"].font.b
    formats = {sheet.cell(row=1, column=c).value.partition("｜")[0]: sheet.cell(row=2, column=c).number_format
               for c in range(2, sheet.max_column + 1) if isinstance(sheet.cell(row=2, column=c).value, (int, float))}
    assert set(formats.values()) == {"#,##0", '"¥"#,##0.00', '0.00"%"'}
    assert all(cell.data_type != "f" for ws in book for row in ws.iter_rows() for cell in row)
    about = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert about["立方体"] == "门急诊人次（visits）" and about["期间"] == "2025-08-01 至 2025-11-30"
    assert about["数据范围"] == "区县：330106" and about["导出者"] == "B02" and about["生成时间"].endswith("+08:00")
    assert "1–4" in about["小格抑制规则"]
    with region.engine.connect() as connection:
        rows = connection.execute(text("SELECT member, detail, message_id, person_id, code FROM audit_event "
                                       "WHERE event_type = 'cube.export' ORDER BY id DESC LIMIT 1")).all()
    assert [tuple(row) for row in rows] == [("B02", "visits.xlsx", None, None, None)]


def test_text_a_spreadsheet_would_run_is_written_as_text(api):
    from dataclasses import replace

    from olap.cubes import Scope, build_pivot, execute, parse_query
    from olap.cubes.export import About, to_csv, to_xlsx

    from .checks import AS_OF
    mart = api.app.state.mart
    query_ = parse_query("visits", {"measures": ["visits"], "group_by": ["institution.institution"],
                                    "period": WHOLE}, today=AS_OF)
    pivot = build_pivot(lambda q: execute(mart, q, scope=Scope(institutions=frozenset({"H01"}))), query_,
                        rows=("institution.institution",), columns=())
    pivot = replace(pivot, answer={**pivot.answer, "labels": {"institution.institution": {"H01": "=HYPERLINK(1)"}}})
    assert to_csv(pivot).decode("utf-8-sig").splitlines()[1].startswith("'=HYPERLINK(1)")
    sheet = load_workbook(io.BytesIO(to_xlsx(pivot, about=About("x", utcnow()))))["数据"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("'=HYPERLINK(1)", "s")


def _exposed_cells(cells, withheld_totals, rows, columns, grand) -> list:
    """Withheld cells the published values fix: full-system rank test (numpy's matrix_rank), written
    apart from olap.cubes.totals (no components, no null space)."""
    import numpy as np
    unknown = [("cell", r, c) for (r, c), flag in cells.items() if flag] + sorted(withheld_totals)
    index = {item: i for i, item in enumerate(unknown)}
    lines = [(("row", r), [("cell", r, c) for (rr, c) in cells if rr == r]) for r in range(rows)]
    lines += [(("column", c), [("cell", r, c) for (r, cc) in cells if cc == c]) for c in range(columns)]
    if grand is not None:
        lines += [(("grand",), [("row", r) for r in range(rows)]), (("grand",), [("column", c) for c in range(columns)])]
    matrix = []
    for total, parts in lines:
        line = np.zeros(len(unknown))
        for item, sign in [(total, 1.0)] + [(part, -1.0) for part in parts]:
            if item in index:
                line[index[item]] = sign
        if line.any():
            matrix.append(line)
    if not matrix:
        return []
    a = np.array(matrix)
    rank = np.linalg.matrix_rank(a)
    return [item for item in unknown if item[0] == "cell"
            and np.linalg.matrix_rank(np.vstack([a, np.eye(len(unknown))[index[item]]])) == rank]


@pytest.mark.parametrize("seed", range(40))
def test_no_withheld_cell_can_be_worked_out_from_what_is_published(seed):
    import random

    from olap.cubes.totals import protect_totals
    rng = random.Random(seed)
    rows, columns = rng.randint(1, 7), rng.randint(1, 6)
    cells = {(r, c): rng.random() < 0.25 for r in range(rows) for c in range(columns) if rng.random() < 0.85}
    row_totals = {r: rng.random() < 0.1 for r in range(rows)}
    column_totals = {c: rng.random() < 0.1 for c in range(columns)}
    grand = rng.random() < 0.1
    added = protect_totals(cells, rows=rows, columns=columns, row_totals=row_totals, column_totals=column_totals,
                           grand=grand)
    withheld = {("row", r) for r, f in row_totals.items() if f} | {("column", c) for c, f in column_totals.items() if f}
    withheld |= {("grand",)} if grand else set()
    exposed = _exposed_cells(cells, withheld | added, rows, columns, grand)
    assert exposed == [], (cells, withheld, added)
    if any(cells.values()):
        before = _exposed_cells(cells, withheld, rows, columns, grand)
        assert not before or added  # what was exposed needed totals withheld


def test_columns_only_and_a_top_n_whose_totals_are_left_empty_with_the_reason(api):
    body = {"measures": ["visits"], "period": WHOLE, "rows": [], "columns": ["institution.district"]}
    header, lines = table(export(api, "B01", "visits", body, "csv"), "csv")
    whole = api.post("/api/cubes/visits/query", headers=_headers(api, "B01"),
                     json={"measures": ["visits"], "period": WHOLE}).json()["cells"][0]["visits"]
    assert len(lines) == 1 and header[-1].endswith("｜合计") and float(lines[0][-1]) == whole
    top = {**body, "rows": ["institution.institution"], "columns": [], "top": 2,
           "sort": [{"by": "visits", "desc": True}]}
    response = export(api, "B01", "visits", top, "xlsx")
    _, lines = table(response, "xlsx")
    assert len(lines) == 3 and lines[-1][0] == "合计" and lines[-1][1] is None  # no total of a top 2
    notes = [text_ for key, text_ in load_workbook(io.BytesIO(response.content))["说明"].iter_rows(values_only=True)
             if key == "合计"]
    assert notes and "top / having" in notes[0]
