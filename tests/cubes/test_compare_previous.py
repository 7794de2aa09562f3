"""``compare: "previous"``: the period just before, folded into the same query (one cube query per
dashboard chart); its cells equal those of the same query asked for that period on its own."""
from __future__ import annotations

from datetime import date

import pytest

from olap.cubes import CubeError, Scope, parse_query
from olap.cubes.query import Period

from .checks import AS_OF, ask


@pytest.mark.parametrize("period, before", [
    ((date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 1), date(2026, 10, 31))),
    ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28))),
    ((date(2026, 1, 1), date(2026, 3, 31)), (date(2025, 10, 1), date(2025, 12, 31))),
    ((date(2026, 1, 1), date(2026, 12, 31)), (date(2025, 1, 1), date(2025, 12, 31))),
    ((date(2026, 11, 23), date(2026, 11, 29)), (date(2026, 11, 16), date(2026, 11, 22))),
    ((date(2026, 11, 5), date(2026, 11, 5)), (date(2026, 11, 4), date(2026, 11, 4))),
])
def test_the_previous_period_is_the_whole_unit_before(period, before):
    assert Period(*period).previous() == Period(*before)


@pytest.mark.parametrize("compare", ["last_week", [], ["previous", "previous"], {"previous": 1}, 3])
def test_compare_takes_year_ago_previous_or_both(compare):
    with pytest.raises(CubeError) as refused:
        parse_query("visits", {"measures": ["visits"], "period": {"last": 1, "unit": "month"}, "compare": compare},
                    today=AS_OF)
    assert (refused.value.code, refused.value.fields["field"]) == ("cube.query.invalid", "/compare")


def test_both_comparisons_parse():
    query = parse_query("visits", {"measures": ["visits"], "period": {"last": 1, "unit": "month"},
                                   "compare": ["year_ago", "previous"]}, today=AS_OF)
    assert query.compare == "year_ago" and query.previous


@pytest.mark.parametrize("names, scope", [
    ({"measures": ["visits"]}, Scope()),
    ({"indicators": ["charge_per_visit"]}, Scope(districts=frozenset({"330106"}))),
])
def test_the_folded_previous_period_equals_its_own_query(mart, names, scope):
    base = {**names, "group_by": ["institution.institution"], "labels": True}
    both = ask(mart, "visits", {**base, "period": {"from": "2026-10-01", "to": "2026-10-31"},
                                "compare": ["year_ago", "previous"]}, scope=scope)
    alone = ask(mart, "visits", {**base, "period": {"from": "2026-09-01", "to": "2026-09-30"}}, scope=scope)
    year_ago = ask(mart, "visits", {**base, "period": {"from": "2026-10-01", "to": "2026-10-31"},
                                    "compare": "year_ago"}, scope=scope)
    assert alone["cells"], "the scenario has September visits"
    assert both["previous"] == {"period": {"from": "2026-09-01", "to": "2026-09-30"}, "cells": alone["cells"],
                                "suppressed_cells": alone["suppression"]["suppressed_cells"]}
    assert both["cells"] == year_ago["cells"]  # the year-ago comparison is unchanged by the fold
    for code, name in alone["labels"]["institution.institution"].items():
        assert both["labels"]["institution.institution"][code] == name


def test_the_previous_comparison_refuses_a_date_level(mart):
    with pytest.raises(CubeError) as refused:
        ask(mart, "visits", {"measures": ["visits"], "group_by": ["date.month"], "compare": "previous",
                             "period": {"from": "2026-10-01", "to": "2026-10-31"}})
    assert refused.value.fields["field"] == "/compare"
