"""A filled region for the cube tests, loaded once per session, and its mart on each engine.

``region``  session: an OLTP store (SQLite) with the registry, and every scenario document delivered
            through the processor (tests/cubes/scenario.py); plus one rejected message.
``mart``    session, per engine (``chdb``, ``server`` marked ``clickhouse``): a fresh mart database
            filled by the ETL (``etl.jobs.backfill``: the OLTP watermark stays put, so each engine
            gets the whole store), with the dimensions and the declared population loaded.
Both are read-only for the tests: each test asks questions, none changes the data.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from hub.auth import issue
from hub.registry.models import Institution, Region
from hub.store.db import make_engine, migrate, session_factory, transaction
from hub.web.cubes import router
from olap import ChdbBackend, ServerBackend
from protocol.timestamps import utcnow
from tests.support.documents import document
from tests.support.inbox import Store

from .checks import fill_mart
from .scenario import INSTITUTIONS, REGIONS, Scenario


@dataclass
class FilledRegion:
    engine: Engine
    store: Store
    scenario: Scenario
    today: date  # China-local date the documents were delivered


def _seed_registry(engine: Engine) -> None:
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        connection.execute(Region.__table__.insert(), [
            {"code": code, "name": name, "level": level, "parent_code": parent} for code, name, level, parent in REGIONS])
        connection.execute(Institution.__table__.insert(), [
            {"code": code, "name": f"合成{code}", "kind": kind, "level": "2", "division_code": division,
             "parent_code": None, "status": "active", "created_at": now, "updated_at": now}
            for code, kind, division in INSTITUTIONS])


@pytest.fixture(scope="session")
def region(tmp_path_factory) -> FilledRegion:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('cubes')}/hub.db")
    migrate(engine)
    _seed_registry(engine)
    store = Store(session_factory(engine))
    scenario = Scenario().build()
    for member, documents in scenario.documents.items():
        for start in range(0, len(documents), 50):
            store.deliver(*documents[start:start + 50], member=member)
    bad = document("OutpatientVisit", institution="C03", document_id="C03-BAD-1")
    bad.find("{urn:hie:doc:v1}body/{urn:hie:doc:v1}department").set("code", "99.99")  # not in the code list
    store.deliver(bad, member="C03")
    store.process()
    yield FilledRegion(engine, store, scenario, (datetime.now(timezone.utc) + timedelta(hours=8)).date())
    engine.dispose()


@pytest.fixture(scope="session", params=[pytest.param("chdb", id="chdb"),
                                         pytest.param("server", id="server", marks=pytest.mark.clickhouse)])
def mart(request, region, chdb_dir):
    name = f"cubes_{uuid.uuid4().hex[:10]}"
    if request.param == "chdb":
        backend = ChdbBackend(chdb_dir, database=name)
    else:
        server = request.getfixturevalue("ch_server")
        backend = ServerBackend(server.host, server.tcp_port, database=name)
    try:
        fill_mart(backend, region)
        yield backend
    finally:
        backend.drop_database()
        backend.close()


@pytest.fixture
def api(region, mart):
    """The cube API (``hub.web.cubes``) on the filled region's store and mart, with a bearer token for
    each of B01 (city bureau), B02 (district bureau) and H01 (a hospital) in ``api.tokens``."""
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=region.store.sessions, certificates=None)
    app.state.mart = mart
    app.include_router(router)
    with transaction(region.store.sessions) as session:
        tokens = {member: issue(session, member=member, label="cube test", now=utcnow())
                  for member in ("B01", "B02", "H01")}
    client = TestClient(app)
    client.tokens = tokens
    return client
