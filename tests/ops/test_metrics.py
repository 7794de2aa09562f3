"""/metrics on SQLite and PostgreSQL: read from the store at scrape time, parsed with
prometheus_client's own parser; refusals are counted once each across scrapes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from etl.models import EtlRun, EtlWatermark, RunKind, RunStatus
from hub import audit
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.db import transaction
from hub.web.app import create_app
from tests.support.migrated import copy_migrated


def _scrape(client) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def _refusals(sessions, count: int, *, code: str, seconds_ago: float) -> None:
    # as the gate writes them (audit.record_rejection), dated in the past: past PostgreSQL's settling time
    rows = [audit.event("request.reject", code=code) for _ in range(count)]
    for row in rows:
        row["at"] -= timedelta(seconds=seconds_ago)
    with transaction(sessions) as session:
        audit.record_many(session, rows)


def test_metrics_from_the_store(request, tmp_path, db_url, pki_dir):
    settings = Settings(data_dir=tmp_path, pki_dir=pki_dir, database_url=db_url, start_processor=False,
                        processor_expected=False)
    copy_migrated(request, db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    _refusals(hub.sessions, 2, code="security.signature.invalid", seconds_ago=30)
    _refusals(hub.sessions, 1, code="security.replay", seconds_ago=30)
    with transaction(hub.sessions) as session:
        session.add(audit.AuditEvent(**audit.event("message.accept")))  # a success: not a refusal
        finished = datetime.now(timezone.utc) - timedelta(minutes=10)
        run = EtlRun(kind=RunKind.INCREMENTAL.value, status=RunStatus.FINISHED.value, started_at=finished,
                     finished_at=finished, watermark_from="", watermark_to="", detail="")
        session.add(run)
        session.flush()
        session.add(EtlWatermark(feed="messages", value=(finished - timedelta(minutes=1)).isoformat(), run_id=run.id,
                                 updated_at=finished))
        session.add(EtlWatermark(feed="merges", value="17", run_id=run.id, updated_at=finished))
    with TestClient(create_app(settings, hub=hub)) as client:
        values = _scrape(client)
        assert values[("hie_refusals_total", (("code", "security.signature.invalid"), ("event", "request.reject")))] == 2
        assert values[("hie_refusals_total", (("code", "security.replay"), ("event", "request.reject")))] == 1
        assert not any(name == "hie_refusals_total" and dict(labels)["event"] == "message.accept"
                       for name, labels in values)
        assert {status: values[("hie_inbox_messages", (("status", status),))]
                for status in ("accepted", "processed", "rejected")} == {"accepted": 0, "processed": 0, "rejected": 0}
        assert values[("hie_processing_lag_seconds", ())] == 0
        assert 660 <= values[("hie_etl_lag_seconds", (("feed", "messages"),))] < 700
        assert not any(name == "hie_etl_lag_seconds" and dict(labels)["feed"] == "merges" for name, labels in values)
        assert 600 <= values[("hie_etl_last_run_age_seconds", ())] < 640
        assert values[("hie_database_up", ())] == 1 and values[("hie_processor_up", ())] == 0
        # later refusals add to the counts; the earlier ones are not counted twice
        _refusals(hub.sessions, 3, code="security.replay", seconds_ago=30)
        again = _scrape(client)
        assert again[("hie_refusals_total", (("code", "security.replay"), ("event", "request.reject")))] == 4
        assert again[("hie_refusals_total", (("code", "security.signature.invalid"), ("event", "request.reject")))] == 2
