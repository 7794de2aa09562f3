"""Lineage follows the same region scope as the cubes — a district bureau cannot trace
the facts of an institution in another district."""
from __future__ import annotations

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from hub.auth import issue
from hub.store.db import transaction
from hub.web.lineage import router
from protocol.timestamps import utcnow


def test_a_district_bureau_cannot_trace_another_districts_facts(region):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=region.store.sessions, certificates=None)
    app.include_router(router)
    with transaction(region.store.sessions) as session:
        tokens = {member: issue(session, member=member, label="lineage scope", now=utcnow()) for member in ("B01", "B02", "H02")}
    with region.engine.connect() as connection:
        h02 = connection.execute(text("SELECT id FROM record_encounter WHERE institution = 'H02' LIMIT 1")).scalar()
        h01 = connection.execute(text("SELECT id FROM record_encounter WHERE institution = 'H01' LIMIT 1")).scalar()
    client = TestClient(app)

    def lineage(key, member):
        return client.get(f"/api/lineage/{key}", headers={"Authorization": f"Bearer {tokens[member]}"})

    assert lineage(f"record_encounter:{h02}", "H02").status_code == 200
    assert lineage(f"record_encounter:{h02}", "B01").status_code == 200  # the city bureau: every district
    assert lineage(f"record_encounter:{h01}", "B02").status_code == 200  # B02 governs 330106 (H01)
    refused = lineage(f"record_encounter:{h02}", "B02")                  # H02 is in 330105
    assert refused.status_code == 403 and refused.json()["code"] == "access.denied", refused.text
