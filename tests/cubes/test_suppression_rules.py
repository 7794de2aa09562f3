"""The suppression rules a second query cannot undo: conditional counts checked against the persons
under their own condition, withheld cells whose total in a margin is 0 or at least 5, and filters
on grouped levels that select cells of the unfiltered answer (docs/cubes.md, Small-cell suppression)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from olap.cubes import CUBES, build_pivot, execute, parse_query
from olap.cubes.model import MeasureKind
from olap.cubes.suppress import THRESHOLD, complementary, primary

from . import oracle
from .checks import AS_OF, WHOLE, ask
from .scenario import INSTITUTIONS

MONTHS = [f"{year}-{month:02d}" for year, month in [(2025, 9), (2025, 10), (2025, 11), (2025, 12)]
          + [(2026, m) for m in range(1, 12)]]
_CONDITION = re.compile(r"If\(")


def _month(month: str) -> dict:
    end = (pd.Period(month, "M").end_time.date()).isoformat()
    return {"from": f"{month}-01", "to": end}


def test_every_conditional_or_person_count_declares_its_privacy():
    """A count under a condition (countIf, uniqExactIf) or of persons is checked against itself or the
    persons under the same condition: the cube's privacy measure alone does not cover it."""
    missing = [(cube.name, measure.name) for cube in CUBES.values() for measure in cube.measures
               if measure.kind in (MeasureKind.COUNT, MeasureKind.DISTINCT)
               and (_CONDITION.search(measure.expr) or "person_key" in measure.expr) and not measure.privacy]
    assert not missing
    checked = CUBES["maternal"].sensitive_for(["antenatal_checkups"], {"institution.institution"})
    assert checked == ["women", "antenatal_women"]
    assert CUBES["prescriptions"].sensitive_for(["prescriptions"], set()) == ["lines", "prescriptions"]
    assert CUBES["exchange"].sensitive_for(["on_time"], {"institution.institution"}) == []  # members' sending


def _withheld_sums(frame: pd.DataFrame, mask: pd.Series, keys: list[str], name: str) -> pd.Series:
    return frame[mask].groupby(keys)[name].sum() if keys else pd.Series([frame.loc[mask, name].sum()])


def test_withheld_cells_of_a_margin_add_up_to_zero_or_at_least_five():
    # an institution's 7 visits: two departments of 1 withheld, the third (5) published would pin them
    frame = pd.DataFrame([("H01", "d1", 1), ("H01", "d2", 1), ("H01", "d3", 5), ("H02", "d1", 20), ("H02", "d2", 30),
                          ("H02", "d3", 40), ("H03", "d1", 50), ("H03", "d2", 60), ("H03", "d3", 70)],
                         columns=["institution", "department", "visits"])
    mask = complementary(frame, primary(frame, ["visits"]), visible=["institution", "department"], parents={},
                         basis="visits")
    assert mask[2]  # the 5 is withheld with them
    for keys in (["institution"], ["department"], []):
        sums = _withheld_sums(frame, mask, keys, "visits")
        assert not ((sums > 0) & (sums < THRESHOLD)).any(), (keys, sums)
    assert not mask.all()


def test_a_conditional_count_short_in_the_withheld_cells_takes_a_cell_that_has_some():
    # A has 1 'down' referral; the lone-cell rule adds B (smallest referrals, but no 'down'): the total of
    # 'down' minus the published ones would still be 1, so C (the smallest with some 'down') goes too
    frame = pd.DataFrame({"target": ["A", "B", "C", "D"], "referrals": [10, 6, 20, 30], "down": [1, 0, 8, 0]})
    sensitive = ["referrals", "down"]
    mask = complementary(frame, primary(frame, sensitive), visible=["target"], parents={}, basis="referrals",
                         sensitive=sensitive)
    assert mask.tolist() == [True, True, True, False]
    assert frame.loc[mask, "down"].sum() >= THRESHOLD


def test_antenatal_checkups_alone_are_withheld_where_few_women_had_one(mart, region):
    maternal = oracle.plain_rows(region.engine, "record_maternal_checkup",
                                 "r.person_id AS person, r.checkup_type AS type, r.checkup_date AS on_", "on_")
    antenatal = maternal[(maternal["type"] == "antenatal") & maternal["month"].between("2025-09", "2026-11")]
    women = antenatal.groupby("institution")["person"].nunique()
    few = set(women[(women > 0) & (women < THRESHOLD)].index)
    assert few
    cells = ask(mart, "maternal", {"measures": ["antenatal_checkups"], "group_by": ["institution.institution"],
                                   "period": WHOLE})["cells"]
    published = {c["institution.institution"] for c in cells if not c["suppressed"]}
    assert not few & published


def test_prescriptions_alone_are_withheld_where_few(mart, region):
    rows = oracle.prescriptions(region.engine)
    rows = rows[rows["month"].between("2025-09", "2026-11")]
    counts = rows.groupby(["institution", "month"])["document"].nunique()
    few = {key for key, n in counts.items() if 0 < n < THRESHOLD}
    assert few
    cells = ask(mart, "prescriptions", {"measures": ["prescriptions"], "group_by": ["institution.institution",
                                                                                 "date.month"], "period": WHOLE})
    published = {(c["institution.institution"], c["date.month"]) for c in cells["cells"] if not c["suppressed"]}
    assert not few & published


@pytest.mark.parametrize("month", MONTHS)
def test_an_institutions_departments_never_pin_down_their_withheld_visits(mart, month):
    """Its department view, filtered to the institution, with the year-ago period: the institution's total
    (its own query) minus the published departments is 0 or at least 5, in each period."""
    period = _month(month)
    for institution in ("H01", "H02"):
        only = [{"level": "institution.institution", "in": [institution]}]
        body = {"measures": ["visits"], "period": period, "compare": "year_ago", "filters": only}
        totals = ask(mart, "visits", body)["cells"]
        if not totals:  # no visits in either period (the comparison then answers no cell at all)
            continue
        total = totals[0]
        departments = ask(mart, "visits", {**body, "group_by": ["institution.department"]})["cells"]
        for now, of in ((total, lambda c: c), (total["year_ago"], lambda c: c["year_ago"])):
            if now["suppressed"]:
                continue
            left = now["visits"] - sum(of(c)["visits"] for c in departments if not of(c)["suppressed"])
            assert left == 0 or left >= THRESHOLD, (institution, month, left)


@pytest.mark.parametrize("level", ["institution.district", "institution.institution"])
def test_a_filter_on_a_grouped_level_or_above_selects_cells_of_the_unfiltered_answer(mart, level):
    """Filtered to one district (above the grouped institutions) or to one institution, the cells are the
    unfiltered answer's cells of that district or institution: withheld ones stay withheld with their
    complementary partners, wherever those lie."""
    district = {code: division for code, _, division in INSTITUTIONS}
    body = {"measures": ["visits"], "group_by": ["institution.institution"], "period": {"from": "2025-08-01",
                                                                                      "to": "2025-09-30"}}
    whole = ask(mart, "visits", body)["cells"]
    assert any(c["suppressed"] for c in whole)
    of = (lambda cell: district[cell["institution.institution"]]) if level == "institution.district" else (
        lambda cell: cell["institution.institution"])
    for code in sorted({of(c) for c in whole}):
        chosen = ask(mart, "visits", {**body, "filters": [{"level": level, "in": [code]}]})["cells"]
        assert chosen == [c for c in whole if of(c) == code], code


@pytest.mark.parametrize("columns, month", [("institution.department", "2025-10")])
def test_a_pivots_total_lines_leave_withheld_entries_adding_up_to_zero_or_at_least_five(mart, columns, month):
    """The totals of an export (the cube at coarser levels, then ``protect_totals``): a published total
    minus the published entries of its line is 0 or at least 5, for the rows, the columns and the corner."""
    query = parse_query("visits", {"measures": ["visits"], "group_by": ["institution.institution", columns],
                                   "period": _month(month)}, today=AS_OF)
    pivot = build_pivot(lambda q: execute(mart, q), query, rows=("institution.institution",), columns=(columns,))
    assert any(entry.withheld for entry in pivot.cells.values())
    lines = [(pivot.row_totals.get((r, 0)), [pivot.cells.get((r, c, 0)) for c in range(len(pivot.columns))])
             for r in range(len(pivot.rows))]
    lines += [(pivot.column_totals.get((c, 0)), [pivot.cells.get((r, c, 0)) for r in range(len(pivot.rows))])
              for c in range(len(pivot.columns))]
    lines.append((pivot.grand.get(0), [pivot.row_totals.get((r, 0)) for r in range(len(pivot.rows))]))
    lines.append((pivot.grand.get(0), [pivot.column_totals.get((c, 0)) for c in range(len(pivot.columns))]))
    for total, entries in lines:
        if total is None or total.withheld:
            continue
        left = total.value - sum(entry.value for entry in entries if entry is not None and not entry.withheld)
        assert left == 0 or left >= THRESHOLD, (total, left)
