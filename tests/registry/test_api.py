"""The read-only JSON registry (/api/registry) on a small app with the router mounted.

Read-only: one seeded registry serves the module on each backend (``db_url`` … ``client`` are
module-scoped here, with the conftest's recipes)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.auth import issue
from hub.registry import seed_demo
from hub.store.db import make_engine, session_factory, transaction
from hub.web.registry import router
from protocol.timestamps import utcnow
from tests.support.databases import empty_database
from tests.support.migrated import copy_migrated

from .conftest import NOW


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory):
    yield from empty_database(request, tmp_path_factory.mktemp("registry"), "hub")


@pytest.fixture(scope="module")
def hub(request, db_url):
    copy_migrated(request, db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_demo(session, now=NOW)
    try:
        yield SimpleNamespace(sessions=sessions, certificates=None)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def client(hub):
    app = FastAPI()
    app.include_router(router)
    app.state.hub = hub
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_institutions(client):
    body = client.get("/api/registry/institutions", params={"division": "330105"}).json()
    assert [i["code"] for i in body] == ["CLINIC02", "HOSP02"]
    assert body[1] == {**body[1], "kind": "hospital", "level": "2", "division_code": "330105", "status": "active"}
    codes = [i["code"] for i in client.get("/api/registry/institutions",
                                           params={"kind": "community_center", "q": "街道"}).json()]
    assert codes == ["CLINIC02"]
    assert [i["code"] for i in client.get("/api/registry/institutions?parent=CLINIC01").json()] == ["CLINIC03"]


def test_institution_detail(client):
    body = client.get("/api/registry/institutions/CLINIC03").json()
    assert body["code"] == "CLINIC03" and body["updated_at"].startswith("2024-05-01T08:00:00")
    assert [d["code"] for d in body["divisions"]] == ["330000", "330100", "330102"]
    assert [p["code"] for p in body["parents"]] == ["CLINIC01"]
    assert [d["standard_code"] for d in body["departments"]] == ["02"]


def test_departments_and_practitioners(client, hub):
    departments = client.get("/api/registry/institutions/HOSP01/departments").json()
    assert [d["code"] for d in departments] == ["JY", "JZ", "NK", "WK"]
    path = "/api/registry/institutions/HOSP01/practitioners"
    anonymous = client.get(path, params={"department": "NK"})
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "access.denied"  # staff names: members only
    with transaction(hub.sessions) as session:
        token = issue(session, member="CLINIC01", label="test", now=utcnow())
    practitioners = client.get(path, params={"department": "NK"}, headers={"Authorization": f"Bearer {token}"}).json()
    assert [(p["code"], p["title_code"], p["synthetic"]) for p in practitioners] == [("D0001", "231", True)]


def test_regions_and_terminology(client):
    assert [r["code"] for r in client.get("/api/registry/regions/330000/children").json()] == ["330100"]
    sex = client.get("/api/registry/terminology/sex").json()
    assert {"code": "2", "display": "女性"}.items() <= next(c for c in sex if c["code"] == "2").items()
    assert client.get("/api/registry/terminology/divisions/330102").json()["extra"] == {"level": "district"}


@pytest.mark.parametrize("path", [
    "/api/registry/institutions/NOPE", "/api/registry/institutions/NOPE/departments",
    "/api/registry/regions/999999/children",
    "/api/registry/terminology/no-such-system", "/api/registry/terminology/sex/NOPE",
])
def test_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"code": "registry.not_found", "message": "no such registry entry"}


REGISTRY_INVALID = (400, "registry.invalid", "registry entry is incomplete or uses unknown codes (see the field)")
REQUEST_INVALID = (422, "request.invalid", "a request parameter or body field is malformed (see the field)")


@pytest.mark.parametrize(("params", "field", "refusal"), [
    ({"division": "<script>999999</script>"}, "/division", REGISTRY_INVALID),
    ({"kind": "<script>spa</script>"}, "/kind", REGISTRY_INVALID),
    ({"limit": "100000"}, "/limit", REGISTRY_INVALID),
    ({"offset": "-1"}, "/offset", REGISTRY_INVALID),
    # FastAPI's own parsing errors: its 422 body would echo the input
    ({"limit": "<script>lots</script>"}, "/limit", REQUEST_INVALID),
    ({"offset": str(2**70)}, "/offset", REQUEST_INVALID),  # beyond a BIGINT: the driver would overflow (500)
])
def test_bad_request_names_the_field_without_echo(client, params, field, refusal):
    response = client.get("/api/registry/institutions", params=params)
    status, code, message = refusal
    assert response.status_code == status
    assert response.json() == {"code": code, "message": message, "field": field}
    assert "script" not in response.text and "1180591620717411303424" not in response.text
