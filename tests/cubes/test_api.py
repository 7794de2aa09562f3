"""The analytics endpoints: bearer tokens, region scoping by the registry, errors as codes; hostile
queries get a clear ``cube.*`` code, never a 500 or engine text."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.auth import issue
from hub.store.db import transaction
from hub.web.cubes import router
from olap import ServerBackend
from protocol.timestamps import utcnow
from tests.support.chserver import ClickhouseServer

from .checks import WHOLE


def post(api, member, cube, body):
    return api.post(f"/api/cubes/{cube}/query", json=body, headers={"Authorization": f"Bearer {api.tokens[member]}"})


def _institutions(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {cell["institution.institution"] for cell in response.json()["cells"]}


def test_declarations_need_a_token(api):
    assert api.get("/api/cubes").json()["code"] == "access.denied"
    listed = api.get("/api/cubes", headers={"Authorization": f"Bearer {api.tokens['B01']}"}).json()["cubes"]
    visits = next(cube for cube in listed if cube["name"] == "visits")
    assert {i["name"] for i in visits["indicators"]} >= {"charge_per_visit", "drug_cost_per_visit"}
    assert visits["suppressed_below"] == 5 and "rollup_visits_institution_month" in visits["rollups"]


def test_city_bureau_district_bureau_and_member_scopes(api):
    body = {"measures": ["visits"], "group_by": ["institution.institution"], "period": WHOLE}
    assert _institutions(post(api, "B01", "visits", body)) == {"H01", "C01", "C02", "H02", "C03"}
    assert _institutions(post(api, "B02", "visits", body)) == {"H01", "C01", "C02"}
    assert _institutions(post(api, "H01", "visits", body)) == {"H01"}
    filtered = {**body, "filters": [{"level": "institution.district", "in": ["330105"]}]}
    assert _institutions(post(api, "B02", "visits", filtered)) == set()  # a filter cannot widen the scope


def test_errors_are_codes_with_the_field_and_no_echo(api):
    bad = post(api, "B01", "visits", {"measures": ["visits"], "group_by": ["institution.SECRET-LEVEL"]})
    assert bad.status_code == 400
    assert bad.json() == {"code": "cube.level.unknown", "field": "/group_by/0",
                          "message": "the cube has no such level, or it cannot be filtered (see the field)"}
    assert "SECRET" not in bad.text
    missing = post(api, "B01", "nosuchcube", {"measures": ["x"]})
    assert missing.status_code == 404 and missing.json()["code"] == "cube.not_found"
    assert post(api, "B01", "visits", ["not", "an", "object"]).json()["code"] == "cube.query.invalid"


def test_no_mart_is_a_retryable_error(api):
    api.app.state.mart = None
    response = post(api, "B01", "visits", {"measures": ["visits"]})
    assert response.status_code == 503 and response.json()["code"] == "olap.unavailable"


def test_the_city_bureaus_top_drugs_read_the_city_wide_drug_rollup(api):
    """A bureau governing every district is not filtered, so the city-wide drug rollup answers it;
    a district bureau's scope needs the institution, so its query reads the institution rollup."""
    body = {"measures": ["amount_fen", "lines"], "group_by": ["drug.drug"], "period": WHOLE,
            "sort": [{"by": "amount_fen", "desc": True}], "top": 5}
    city = post(api, "B01", "prescriptions", body)
    assert city.status_code == 200, city.text
    assert city.json()["sources"] == {"prescriptions": "rollup_medication_drug_month"}
    district = post(api, "B02", "prescriptions", body)
    assert district.json()["sources"] == {"prescriptions": "rollup_medication_institution_month"}
    by_institution = {**body, "group_by": ["institution.institution"], "top": None}
    lines = {cell["institution.institution"]: cell["lines"]
             for cell in post(api, "B01", "prescriptions", by_institution).json()["cells"]}
    assert set(lines) == {"H01", "C01", "C02", "H02", "C03"}  # unfiltered: still only the registry's members
    assert sum(cell["lines"] for cell in city.json()["cells"]) <= sum(lines.values())


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


@pytest.fixture
def bare_api(region):
    """The cube router without a mart yet: each test puts the mart it needs in place."""
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=region.store.sessions, certificates=None)
    app.include_router(router)
    with transaction(region.store.sessions) as session:
        token = issue(session, member="B01", label="cube test", now=utcnow())
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_query_the_engine_fails_is_not_a_retryable_unavailable_mart(bare_api, chdb_olap, caplog):
    bare_api.app.state.mart = chdb_olap  # a mart without its tables: the engine refuses the statement
    response = bare_api.post("/api/cubes/visits/query", json={"measures": ["visits"]})
    assert (response.status_code, response.json()["code"]) == (500, "server.error")
    assert "Retry-After" not in response.headers
    assert "cube query failed: olap.query.failed" in caplog.text  # the engine's refusal, not another failure


@pytest.mark.clickhouse
def test_a_mart_that_is_down_is_olap_unavailable_with_retry_after(bare_api):
    if not ClickhouseServer.available():
        pytest.skip("clickhouse-server not found")
    with ClickhouseServer() as server:  # its own server, to kill
        mart = ServerBackend(server.host, server.tcp_port, database="mart")
        server.kill()
        bare_api.app.state.mart = mart
        response = bare_api.post("/api/cubes/visits/query", json={"measures": ["visits"]})
        mart.close()
    assert (response.status_code, response.json()["code"]) == (503, "olap.unavailable")
    assert response.headers["Retry-After"] == "30"
