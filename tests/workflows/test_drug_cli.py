"""``hie drugs trace | recall | recalls | check`` on a data directory's hub database: the recall audited
with the operator as its actor, its notices queued; the settled batches judged by ``check``."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.cli.main import main
from hub.exchange.models import Reply
from hub.registry import seed_demo
from hub.settings import Settings
from hub.store.db import session_factory, transaction
from hub.workflows import run_pass
from hub.workflows.drugs.models import PendingBatch
from hub.workflows.models import Alert
from tests.support.inbox import Store

from .drugdocs import AMLODIPINE, AMOXICILLIN, CHINA, dispense, movement, patient
from tests.support.migrated import migrated_engine

BATCH, FAKE = "AMX2502123", "AML2501950"


def _hie(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_trace_recall_and_check(request, tmp_path):
    day = datetime(2025, 2, 3, 9, 0, tzinfo=CHINA)
    engine = migrated_engine(request, Settings.load(tmp_path).db_url)
    store = Store(session_factory(engine))
    with transaction(store.sessions) as session:
        seed_demo(session)
    store.deliver(movement("C1-DM-1", institution="CLINIC01", movement_type="receipt",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                           items=[(AMOXICILLIN, BATCH, 200, "2027-01-31")], at=day),
                  dispense("C1-DSP-1", institution="CLINIC01", who=patient(1), items=[(AMOXICILLIN, BATCH, 5)],
                           at=day + timedelta(days=1)))
    store.deliver(dispense("C2-DSP-1", institution="CLINIC02", who=patient(4), items=[(AMLODIPINE, FAKE, 2)],
                           at=day), member="CLINIC02")
    store.process()
    run_pass(store.sessions)  # the batches wait their settle time
    with transaction(store.sessions) as session:  # ... which has passed
        for pending in session.scalars(select(PendingBatch)):
            pending.due_at -= timedelta(hours=1)
    data = ("--data-dir", str(tmp_path))

    (found,) = json.loads(_hie("drugs", "trace", *data, BATCH).output)
    assert {h["code"]: h["stock"] for h in found["holders"]} == {"SUPPLIER01": None, "CLINIC01": "195"}
    missing = _hie("drugs", "trace", *data, "NOSUCH")
    assert missing.exit_code == 1 and "workflow.drug.not_found" in missing.output

    checked = _hie("drugs", "check", *data)
    assert checked.exit_code == 0 and checked.output.startswith("1 alert(s) raised or updated")
    with store.sessions() as session:
        assert session.scalars(select(Alert.key)).all() == [f"{AMLODIPINE}:{FAKE}:CLINIC02"]

    assert _hie("drugs", "recall", *data, BATCH, "--reason", " ").exit_code == 1
    made = _hie("drugs", "recall", *data, BATCH, "--reason", "质量缺陷")
    assert made.exit_code == 0 and made.output.strip() == f"recall 1: {AMOXICILLIN} {BATCH}, 1 institution(s) notified"
    (listed,) = [json.loads(line) for line in _hie("drugs", "recalls", *data).output.splitlines()]
    assert [(n["institution"], n["state"]) for n in listed["institutions"]] == [("CLINIC01", "sent")]
    with store.sessions() as session:
        assert session.scalars(select(Reply.member).where(Reply.kind == "recall")).all() == ["CLINIC01"]
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "recall.create")).all()
        assert event.member == "operator" and event.detail.startswith("workflow_recall:1 ")
    engine.dispose()
