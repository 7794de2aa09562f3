"""The facts behind one cell (``olap.cubes.facts.cell_fact_keys``): the cell's own rows, within the
scope, bounded, and never for a withheld cell."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from olap.cubes import CubeError, Scope, execute, parse_query
from olap.cubes.facts import MAX_FACT_KEYS, cell_fact_keys, traceable

TODAY = date(2026, 11, 30)
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def _query(group_by, **extra):
    return parse_query("visits", {"measures": ["visits"], "group_by": group_by, "period": NOVEMBER, **extra},
                       today=TODAY)


def test_a_cells_facts_are_its_own_rows_and_as_many_as_it_counts(region, mart):
    query = _query(["institution.institution"])
    cells = execute(mart, query)["cells"]
    shown = next(c for c in cells if not c["suppressed"] and c["visits"] <= MAX_FACT_KEYS)
    answer = cell_fact_keys(mart, query, {"institution.institution": shown["institution.institution"]})
    assert answer["complete"] and len(answer["fact_keys"]) == shown["visits"]
    assert answer["fact_keys"] == sorted(answer["fact_keys"])
    rows = [int(key.split(":")[1]) for key in answer["fact_keys"]]
    with region.engine.connect() as connection:
        owners = {connection.execute(text(f"SELECT institution FROM {key.split(':')[0]} WHERE id = :id"),
                                     {"id": row}).scalar() for key, row in zip(answer["fact_keys"], rows)}
    assert owners == {shown["institution.institution"]}


def test_the_list_is_bounded(mart):
    query = _query([])
    total = execute(mart, query)["cells"][0]["visits"]
    assert total > 3
    answer = cell_fact_keys(mart, query, {}, limit=3)
    assert len(answer["fact_keys"]) == 3 and not answer["complete"]


def test_a_withheld_cell_lists_no_facts(mart):
    query = _query(["institution.institution", "institution.department"])
    withheld = next(c for c in execute(mart, query)["cells"] if c["suppressed"])
    with pytest.raises(CubeError) as refused:
        cell_fact_keys(mart, query, {name: withheld[name] for name in query.group_by})
    assert refused.value.code == "access.denied"


def test_outside_the_scope_a_cell_does_not_exist(mart):
    query = _query(["institution.institution"])
    with pytest.raises(CubeError) as refused:
        cell_fact_keys(mart, query, {"institution.institution": "H02"}, scope=Scope(institutions=frozenset({"H01"})))
    assert refused.value.code == "cube.query.invalid"


# ---- cells of a date level (a trend's): the date narrows the period, it is no filter
AUTUMN = {"from": "2026-09-01", "to": "2026-11-30"}


def _fact_dates(mart, keys: list[str]) -> dict[str, str]:
    """{fact key: its visit date} read from the mart's fact table (exactly: FINAL, not deleted)."""
    frame = mart.query_df("SELECT fact_key, toString(date) AS day FROM fact_outpatient_visit FINAL "
                          "WHERE deleted = 0 AND fact_key IN (SELECT arrayJoin({keys:Array(String)}))", {"keys": keys})
    return dict(zip(frame["fact_key"].tolist(), frame["day"].tolist()))


def test_a_monthly_trend_cells_facts_are_exactly_that_months(mart):
    query = _query(["institution.institution", "date.month"], period=AUTUMN)
    cells = execute(mart, query)["cells"]
    shown = next(c for c in cells if not c["suppressed"] and 5 <= c["visits"] <= MAX_FACT_KEYS
                 and c["date.month"] == "2026-10")
    cell = {"institution.institution": shown["institution.institution"], "date.month": "2026-10"}
    answer = cell_fact_keys(mart, query, cell)
    assert answer["complete"] and len(answer["fact_keys"]) == shown["visits"]
    assert answer["facts_period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    assert all(day.startswith("2026-10-") for day in _fact_dates(mart, answer["fact_keys"]).values())
    # the same facts as the cell of the month alone, asked with the month as the period
    alone = _query(["institution.institution"], period={"from": "2026-10-01", "to": "2026-10-31"})
    same = cell_fact_keys(mart, alone, {"institution.institution": cell["institution.institution"]})
    assert answer["fact_keys"] == same["fact_keys"]


def test_a_weekly_cell_is_its_week_within_the_period(mart):
    # the period starts on a Wednesday: its first week's cell counts only the days from it
    query = _query(["date.week"], period={"from": "2026-10-07", "to": "2026-11-30"})
    first = next(c for c in execute(mart, query)["cells"] if c["date.week"] == "2026-10-05")
    answer = cell_fact_keys(mart, query, {"date.week": "2026-10-05"}, limit=MAX_FACT_KEYS)
    assert answer["facts_period"] == {"from": "2026-10-07", "to": "2026-10-11"}
    assert len(answer["fact_keys"]) == min(first["visits"], MAX_FACT_KEYS)
    assert all("2026-10-07" <= day <= "2026-10-11" for day in _fact_dates(mart, answer["fact_keys"]).values())


def test_a_withheld_trend_cell_lists_no_facts(mart):
    query = _query(["institution.institution", "date.day"], period=AUTUMN)  # a day's visits: small
    withheld = next(c for c in execute(mart, query)["cells"] if c["suppressed"])
    with pytest.raises(CubeError) as refused:
        cell_fact_keys(mart, query, {name: withheld[name] for name in query.group_by})
    assert refused.value.code == "access.denied"


@pytest.mark.parametrize("month", ["2026-08", "2025-10", "2026-13", "10-2026"])
def test_a_date_outside_the_period_or_malformed_is_refused(mart, month):
    query = _query(["date.month"], period=AUTUMN)
    with pytest.raises(CubeError) as refused:
        cell_fact_keys(mart, query, {"date.month": month})
    assert refused.value.code == "cube.query.invalid"


def test_what_can_name_its_facts():
    assert traceable("visits", ["institution.district", "date.month"], ["visits", "total_fen"]) == ["visits"]
    assert traceable("visits", ["date.quarter"], ["visits"]) == ["visits"]
    assert traceable("population", ["institution.district"], ["population"]) == []  # no fact keys
