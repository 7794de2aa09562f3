"""Review: hostile queries to /api/cubes get a clear ``cube.*`` code, never a 500 or engine text."""
from __future__ import annotations

import pytest

from .checks import WHOLE
from .test_api import api, post  # noqa: F401  (fixture)

HOSTILE = [
    {"measures": ["visits"], "period": {"last": 3660, "unit": "year", "as_of": "2026-11-30"}},
    {"measures": ["visits"], "period": {"from": "0001-01-01", "to": "0001-12-31"}, "compare": "year_ago"},
    {"measures": ["visits"], "period": {"from": "9999-01-01", "to": "9999-12-31"}},
    {"measures": ["visits"], "period": {"from": "0001-01-01", "to": "9999-12-31"}},
    {"measures": ["visits"], "period": {"last": 3660, "unit": "quarter", "as_of": "0100-01-01"}},
    {"measures": ["visits"], "period": {"this": "year", "as_of": 20261130}},
    {"measures": ["visits"], "period": {"from": ["2026-01-01"], "to": {"a": 1}}},
    {"measures": ["visits"], "period": "last year"},
    {"measures": ["visits"], "period": {"last": True, "unit": "month"}},
    {"measures": ["visits"], "group_by": ["institution.institution'; DROP TABLE fact_outpatient_visit --"]},
    {"measures": ["visits"], "filters": [{"level": "institution.institution", "in": ["x') OR 1=1 --", "中文\u0000"]}]},
    {"measures": ["visits"], "filters": [{"level": "visit.kind", "in": [10**20]}]},
    {"measures": ["visits"], "filters": [{"level": "date.year", "in": ["2026"]}]},
    {"measures": ["visits"], "filters": [{"level": "visit.kind", "in": list(range(100000))}]},
    {"measures": ["visits"], "filters": [["visit.kind"]]},
    {"measures": ["visits"], "filters": {"level": "visit.kind"}},
    {"measures": ["visits"], "having": [{"name": "visits", "op": ">", "value": 1e308}], "group_by": ["institution.institution"], "period": WHOLE},
    {"measures": ["visits"], "having": [{"name": "visits", "op": "LIKE", "value": 1}]},
    {"measures": ["visits"], "sort": [{"by": "visits", "desc": "yes"}]},
    {"measures": ["visits"], "sort": [{"by": "nothing"}]},
    {"measures": ["visits"], "top": 0},
    {"measures": ["visits"], "top": 1e9},
    {"measures": [["visits"]]},
    {"measures": "visits"},
    {"measures": ["visits"] * 40},
    {"measures": ["nosuch.visits"]},
    {"measures": ["visits.nosuch"]},
    {"measures": [".visits"]},
    {"measures": ["visits"], "indicators": ["members.reporting_rate"]},
    {"measures": ["a" * 100000]},
    {"measures": ["visits"], "compare": "year_ago", "period": {"from": "2024-02-29", "to": "2024-02-29"}, "group_by": ["date.day"]},
    {"measures": ["discharges.bed_days"], "group_by": ["visit.kind"], "period": WHOLE},
    {"measures": ["visits"], "group_by": ["institution.institution", "institution.institution"]},
    {"measures": ["visits"], "group_by": ["date"]},
    {"measures": ["visits"], "group_by": [""]},
    {"measures": ["visits"], "group_by": ["."]},
    {"measures": ["visits"], "group_by": ["constructor.__class__"]},
    {"measures": ["__class__"]},
    {"measures": ["visits"], "period": {"from": "2026-01-01", "to": "2026-12-31", "extra": 1}},
    {},
    None,
    "string",
    12,
    [],
    {"measures": ["visits.visits"]},
    {"measures": ["visits"], "indicators": [".charge_per_visit"]},
    {"measures": ["visits"], "period": {"from": "1970-06-01", "to": "1970-12-31"}, "compare": "year_ago"},
]


@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_hostile_query_is_a_clear_code(api, index):
    body = HOSTILE[index]
    response = post(api, "B01", "visits", body)
    assert response.status_code in (200, 400, 404), (index, response.status_code, response.text[:500])
    if response.status_code != 200:
        assert response.json()["code"].startswith("cube."), response.text[:500]
        assert "DROP" not in response.text and "OR 1=1" not in response.text
        assert "Code:" not in response.text and "DB::" not in response.text


def test_deep_nesting_and_huge_numbers(api):
    headers = {"Authorization": f"Bearer {api.tokens['B01']}", "Content-Type": "application/json"}
    for raw in ('{"measures": ["visits"], "filters": ' + "[" * 100000 + "]" * 100000 + "}",
                '{"measures": ["visits"], "top": ' + "9" * 5000 + "}",
                '{"measures": ["visits"], "having": [{"name": "visits", "op": ">", "value": NaN}]}',
                '{"measures": ["visits"], "filters": [{"level": "visit.kind", "in": [' + "9" * 5000 + "]}]}",
                b'{"measures": ["\xff\xfe"]}'):
        response = api.post("/api/cubes/visits/query", content=raw, headers=headers)
        assert response.status_code in (200, 400, 422), (raw[:60], response.status_code, response.text[:300])
