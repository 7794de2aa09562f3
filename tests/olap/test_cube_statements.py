"""A dashboard chart's periods (this one, the one before, the year-ago) cost one statement, and its
cells — small-cell suppression included — are those of each period asked on its own."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from olap import apply_schema
from olap.cubes import execute, parse_query
from olap.rollups import ROLLUPS, refresh

AS_OF = date(2026, 12, 1)
# (institution, first day, visits a day for 30 days): H03 is small in November only, H04 in October only
_VISITS = [("H01", date(2025, 11, 1), 3), ("H01", date(2026, 10, 1), 2), ("H01", date(2026, 11, 1), 4),
           ("H02", date(2025, 11, 1), 1), ("H02", date(2026, 10, 1), 1), ("H02", date(2026, 11, 1), 2),
           ("H03", date(2025, 11, 1), 1), ("H03", date(2026, 10, 1), 1), ("H03", date(2026, 11, 1), 1),
           ("H04", date(2026, 10, 1), 1)]


class Counted:
    """The real backend, counting the statements it is asked (a chart's cost is per statement)."""

    def __init__(self, backend) -> None:
        self.backend, self.statements = backend, []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def query_df(self, sql, params=None, **options):
        self.statements.append(sql)
        return self.backend.query_df(sql, params, **options)


def _visits() -> pd.DataFrame:
    rows = []
    for institution, first, per_day in _VISITS:
        small = (institution, first) in (("H03", date(2026, 11, 1)), ("H04", date(2026, 10, 1)))
        for offset in range(1 if small else 30):  # a small cell: 3 visits in the month
            rows += [(institution, first + timedelta(days=offset))] * (3 if small else per_day)
    frame = pd.DataFrame(rows, columns=["institution_code", "date"])
    count = len(frame)
    return frame.assign(
        fact_key=[f"record_encounter:{i}" for i in range(count)], source_row_id=range(count),
        document_row_id=range(count), message_row_id=range(count), loaded_at=pd.Timestamp("2026-12-01", tz="UTC"),
        person_key=[f"p{i}" for i in range(count)], sex="1", age_band="15-44", department_code="D",
        kind="outpatient", primary_diagnosis_code="I10", total_fen=[100 + i % 7 for i in range(count)],
        drug_fen=10, version=1, deleted=0)


@pytest.fixture
def visits_mart(olap):
    apply_schema(olap)
    frame = _visits()
    olap.insert_df("fact_outpatient_visit", frame)
    for rollup in ROLLUPS.values():
        if rollup.source == "fact_outpatient_visit":
            refresh(olap, rollup, date_from=frame["date"].min(), date_to=frame["date"].max(), version=1)
    return olap


def _ask(backend, body: dict) -> dict:
    return execute(backend, parse_query("visits", body, today=AS_OF))


@pytest.mark.parametrize("names", [{"measures": ["visits"]}, {"indicators": ["charge_per_visit"]}])
def test_a_month_with_its_previous_and_year_ago_is_one_statement(visits_mart, names):
    month = {"period": {"from": "2026-11-01", "to": "2026-11-30"}, "compare": ["year_ago", "previous"]}
    counted = Counted(visits_mart)
    # no small cell (a filter on a grouped level would not do: suppression is decided without it)
    large = _ask(counted, {**names, **month, "group_by": ["institution.district"]})
    assert len(counted.statements) == 1, counted.statements  # was three, one per period
    assert large["sources"]["visits"].startswith("rollup_visits_")
    assert large["previous"]["cells"] and all(cell["year_ago"]["visits" if "measures" in names else
                                                               "charge_per_visit"] for cell in large["cells"])

    # small cells in two periods: their margins (for complementary suppression) in one more statement
    base = {**names, "group_by": ["institution.institution"]}
    counted = Counted(visits_mart)
    both = _ask(counted, {**base, **month})
    assert len(counted.statements) == 2, counted.statements

    alone = {month: _ask(visits_mart, {**base, "period": {"from": f"{month}-01", "to": f"{month}-{days}"}})
             for month, days in (("2026-11", 30), ("2026-10", 31), ("2025-11", 30))}
    assert [cell | {"year_ago": None} for cell in both["cells"]] == \
        [cell | {"year_ago": None} for cell in alone["2026-11"]["cells"]]
    assert both["previous"]["cells"] == alone["2026-10"]["cells"]
    year_ago = {cell["institution.institution"]: cell for cell in alone["2025-11"]["cells"]}
    for cell in both["cells"]:
        expected = {k: v for k, v in year_ago.get(cell["institution.institution"], {}).items()
                    if k != "institution.institution"}
        assert cell["year_ago"] == (expected or cell["year_ago"])
    # each period's small cells are withheld on its own, as asked alone
    assert both["suppression"]["suppressed_cells"] == alone["2026-11"]["suppression"]["suppressed_cells"] > 0
    assert both["previous"]["suppressed_cells"] == alone["2026-10"]["suppression"]["suppressed_cells"] > 0


def test_periods_read_from_different_tables_or_overlapping_stay_exact(visits_mart):
    """A week's year-ago is not a whole ISO week (another table: a second statement); a span whose
    year-ago overlaps it is read period by period. Either way, each period's cells are its own."""
    base = {"measures": ["visits"], "group_by": ["institution.institution"]}
    large = {"group_by": ["institution.district"]}  # no small cell: no margins read
    for period, statements in (({"from": "2026-11-02", "to": "2026-11-08"}, 2),
                               ({"from": "2026-01-01", "to": "2026-11-30"}, 3)):
        counted = Counted(visits_mart)
        _ask(counted, {**base, **large, "period": period, "compare": ["year_ago", "previous"]})
        assert len(counted.statements) == statements, (period, counted.statements)
        both = _ask(visits_mart, {**base, "period": period, "compare": ["year_ago", "previous"]})
        previous = parse_query("visits", {**base, "period": period, "compare": "previous"}, today=AS_OF).period.previous()
        alone = _ask(visits_mart, {**base, "period": {"from": previous.start.isoformat(),
                                                      "to": previous.end.isoformat()}})
        assert both["previous"]["cells"] == alone["cells"]
        only_year_ago = _ask(visits_mart, {**base, "period": period, "compare": "year_ago"})
        assert both["cells"] == only_year_ago["cells"]


def test_a_query_without_levels_answers_one_cell_for_an_empty_period_read_with_others(visits_mart):
    """Without group-by levels a period always has one cell — zero when nothing happened — as it has
    when asked alone, also when its period is read in one statement with a period that has facts."""
    body = {"measures": ["visits"], "period": {"from": "2024-11-01", "to": "2024-11-30"}}
    alone = _ask(visits_mart, body)
    assert alone["cells"] == [{"visits": 0, "suppressed": False}]
    both = _ask(visits_mart, {"measures": ["visits"], "period": {"from": "2025-11-01", "to": "2025-11-30"},
                              "compare": ["year_ago", "previous"]})  # 2024-11 and 2025-10 are empty
    assert len(both["cells"]) == 1 and both["cells"][0]["visits"] > 0
    assert both["cells"][0]["year_ago"] == {"visits": 0, "suppressed": False}
    assert both["previous"]["cells"] == [{"visits": 0, "suppressed": False}]
