"""The ETL inside the hub process (apscheduler) and the lineage endpoint, through the real app."""
from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from etl import jobs
from hub.auth import issue
from hub.registry import HUB_OPERATOR, sync_regions
from hub.registry.models import Institution
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.db import transaction
from hub.web.app import create_app
from protocol.timestamps import utcnow
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated


@pytest.fixture
def hub_app(request, tmp_path, pki_dir, chdb_dir):
    database = f"t_{uuid.uuid4().hex[:12]}"
    settings = Settings(data_dir=tmp_path, pki_dir=pki_dir, start_processor=False, etl_interval_s=0.5,
                        mart_url=f"chdb://{chdb_dir}?database={database}")
    copy_migrated(request, settings.db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    app = create_app(settings, hub=hub)
    with TestClient(app) as client:
        client.hub = hub
        yield client
        client.app.state.mart.drop_database()
    hub.sessions.kw["bind"].dispose()


def _wait_for_run(sessions, *, after: int = 0, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = jobs.status(sessions)["runs"]
        if runs and runs[0]["id"] > after and runs[0]["status"] != "running":
            return runs[0]
        time.sleep(0.2)
    raise AssertionError("no ETL run finished in time")


def test_the_hub_runs_the_etl_on_its_schedule_and_traces_facts_to_signed_messages(hub_app):
    store = Store(hub_app.hub.sessions)
    [message_row] = store.deliver(document("OutpatientVisit", document_id="V-HUB-1"))
    store.process()
    first = _wait_for_run(hub_app.hub.sessions)
    run = first if first["rows_written"] else _wait_for_run(hub_app.hub.sessions, after=first["id"])
    assert run["status"] == "finished" and run["rows_written"] >= 2
    mart = hub_app.app.state.mart
    facts = mart.query_df("SELECT fact_key FROM fact_outpatient_visit FINAL WHERE deleted = 0")
    [fact_key] = list(facts["fact_key"])

    with transaction(hub_app.hub.sessions) as session:
        tokens = {member: issue(session, member=member, label="test", now=utcnow()) for member in ("CLINIC01", "CLINIC02", "BUREAU")}
        session.add(Institution(code="BUREAU", name="示例卫生健康委员会", kind="bureau", level="", division_code="330100",
                                parent_code=None, status="active", created_at=utcnow(), updated_at=utcnow()))
        sync_regions(session, actor=HUB_OPERATOR)  # the divisions the bureau governs
        for clinic in ("CLINIC01", "CLINIC02"):  # a token works only for a registered, active member
            session.add(Institution(code=clinic, name="示例社区卫生服务站", kind="clinic", level="",
                                    division_code="330102", parent_code=None, status="active", created_at=utcnow(),
                                    updated_at=utcnow()))

    def lineage(key, member):
        return hub_app.get(f"/api/lineage/{key}", headers={"Authorization": f"Bearer {tokens[member]}"})

    answer = lineage(fact_key, "CLINIC01")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["message"]["row_id"] == message_row and body["message"]["member"] == "CLINIC01"
    assert body["document"]["document_id"] == "V-HUB-1" and len(body["message"]["document_sha256"]) == 64
    assert "王秀英" not in answer.text  # identifiers and digests only, never patient data
    assert lineage(fact_key, "BUREAU").status_code == 200
    refused = lineage(fact_key, "CLINIC02")
    assert refused.status_code == 403 and refused.json()["code"] == "access.denied"
    assert lineage("record_encounter:999999", "CLINIC01").json()["code"] == "lineage.fact.not_found"
    assert lineage("users:1", "CLINIC01").json()["code"] == "lineage.key.invalid"
    assert hub_app.get(f"/api/lineage/{fact_key}").status_code == 403  # no token
