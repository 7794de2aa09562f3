"""The JSON APIs through the real app (``create_app`` with a hub): every mistake is a machine code and
one line with the code's status — ids beyond a BIGINT, parameters FastAPI cannot parse, a body that
is not JSON, a bug — and the bearer token is checked (and a refusal audited) before any parameter
or body is read."""
from __future__ import annotations

import logging

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.auth import issue
from hub.registry import seed_demo
from hub.store.db import transaction
from hub.web.app import create_app
from hub.web.deps import HubErrorRoute
from protocol.timestamps import utcnow
from tests.exchange.conftest import foreign_pki, hub, pki_dir  # noqa: F401 - fixtures

HUGE = str(2**70)
SECRET = "合成测试甲"  # a synthetic patient name: it must never come back, nor reach the log
REQUEST_INVALID = "a request parameter or body field is malformed (see the field)"


@pytest.fixture
def api(hub):  # noqa: F811 - the fixture imported above
    with transaction(hub.sessions) as session:
        seed_demo(session)
        token = issue(session, member="CLINIC01", label="test", now=utcnow())
    client = TestClient(create_app(hub.settings, hub=hub))  # an exception reaching the server fails the test
    client.headers["Authorization"] = f"Bearer {token}"
    client.hub = hub
    return client


def _refusals(hub) -> list[str]:  # noqa: F811
    with hub.sessions() as session:
        return list(session.scalars(select(AuditEvent.event_type).where(AuditEvent.event_type.like("api.reject.%"))
                                    .order_by(AuditEvent.id)))


@pytest.mark.parametrize("path, field", [
    (f"/api/records/persons/{HUGE}/record", "/person_id"),
    (f"/api/records/persons/{HUGE}/documents", "/person_id"),
    ("/api/records/persons/-1/record", "/person_id"),
    ("/api/records/persons/0/documents", "/person_id"),
    ("/api/records/persons/abc/record", "/person_id"),
    ("/api/records/persons/1/documents?from=garbage", "/from"),
    (f"/api/registry/institutions?offset={HUGE}", "/offset"),
])
def test_parameters_out_of_range_or_unparsable_are_request_invalid(api, path, field):
    response = api.get(path)
    assert (response.status_code, response.json()) == (422, {"code": "request.invalid", "message": REQUEST_INVALID,
                                                              "field": field})
    assert HUGE not in response.text and "garbage" not in response.text


def test_a_lineage_row_id_beyond_a_bigint_is_an_invalid_key(api):
    response = api.get(f"/api/lineage/record_encounter:{HUGE}")
    assert (response.status_code, response.json()["code"]) == (400, "lineage.key.invalid")


def test_the_token_is_checked_before_the_body_and_the_parameters(api):
    anonymous = {"Authorization": ""}
    for method, path, body in [("POST", "/api/cubes/visits/query", b"{not json"),
                               ("POST", "/api/cubes/visits/query", b'{"measures": "not a list"}'),
                               ("GET", f"/api/records/persons/{HUGE}/record", None),
                               ("GET", "/api/records/persons/abc/documents?from=garbage", None),
                               ("GET", f"/api/lineage/record_encounter:{HUGE}", None)]:
        for headers in (anonymous, {"Authorization": "Bearer hie_not_a_token"}):
            response = api.request(method, path, content=body, headers=headers)
            assert (response.status_code, response.json()["code"]) == (403, "access.denied"), (method, path)
    assert _refusals(api.hub) == ["api.reject.missing", "api.reject.unknown"] * 5  # each refusal audited


def test_a_body_that_is_not_json_is_request_not_json(api):
    for body in (b"{not json", "名字".encode("gb18030"), b"[" * 100_000):
        response = api.post("/api/cubes/visits/query", content=body, headers={"Content-Type": "application/json"})
        assert (response.status_code, response.json()) == (400, {"code": "request.not_json",
                                                                 "message": "request body is not JSON"})
    no_mart = api.post("/api/cubes/visits/query", json={"measures": ["visits"]})  # JSON: on to the mart
    assert (no_mart.status_code, no_mart.json()["code"]) == (503, "olap.unavailable")
    assert no_mart.headers["Retry-After"] == "30"


def test_a_bug_is_one_json_line_and_the_log_says_where_not_what(api, caplog):
    def broken():
        raise RuntimeError(f"patient {SECRET} broke it")

    router = APIRouter(route_class=HubErrorRoute)
    router.add_api_route("/api/broken/in-a-router", broken)
    api.app.include_router(router)
    api.app.add_api_route("/api/broken/in-the-app", broken)  # a route without HubErrorRoute: the app's handler
    with caplog.at_level(logging.ERROR):
        for path in ("/api/broken/in-a-router", "/api/broken/in-the-app"):
            response = api.get(path)
            assert response.status_code == 500
            assert response.json() == {"code": "server.error", "message": "the hub failed to answer this request"}
    assert "RuntimeError" in caplog.text
    assert "GET /api/broken/in-a-router" in caplog.text and "GET /api/broken/in-the-app" in caplog.text
    assert SECRET not in caplog.text
