"""A batch's trace, alerts and recalls cut to a viewer's scope (``hub.workflows.drugs.scoped``, what the
console's pages read), and the recall's refusals the console shows: a duplicate, a batch that reached no one.

SUPPLIER01 (district 330106) ships 200 to CLINIC01 (330102, files its receipt) and 100 to CLINIC02
(330105); CLINIC01 dispenses to two patients, CLINIC02 to one, and HOSP01 (330102) gives out 2 it never
received (``drug.dispense.excess``)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.workflows import run_pass
from hub.workflows.drugs import Recall, RecallNotice, anomalies, recall, scoped, trace
from hub.workflows.errors import WorkflowError
from protocol.timestamps import utcnow

from .drugdocs import AMOXICILLIN, CHINA, dispense, movement, patient

BATCH, LOST = "AMX2503301", "AMX2503302"
DAY = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA)


@pytest.fixture
def batch(store):
    ship = dict(institution="SUPPLIER01", movement_type="transfer", source=("SUPPLIER01", "supplier"), at=DAY)
    store.deliver(movement("S-DM-1", target=("CLINIC01", "institution"), items=[(AMOXICILLIN, BATCH, 200, "2027-03-31")],
                           **ship),
                  movement("S-DM-2", target=("CLINIC02", "institution"), items=[(AMOXICILLIN, BATCH, 100, "2027-03-31")],
                           **ship),
                  movement("S-DM-3", target=("PHARMA9", "distributor"), items=[(AMOXICILLIN, LOST, 50, None)], **ship),
                  member="SUPPLIER01")
    store.deliver(movement("C1-DM-1", institution="CLINIC01", movement_type="receipt", source=("SUPPLIER01", "supplier"),
                           target=("CLINIC01", "institution"), items=[(AMOXICILLIN, BATCH, 200, "2027-03-31")],
                           at=DAY + timedelta(hours=2)),
                  dispense("C1-DSP-1", institution="CLINIC01", who=patient(1), items=[(AMOXICILLIN, BATCH, 5)],
                           at=DAY + timedelta(days=1)),
                  dispense("C1-DSP-2", institution="CLINIC01", who=patient(2), items=[(AMOXICILLIN, BATCH, 3)],
                           at=DAY + timedelta(days=1)))
    store.deliver(dispense("C2-DSP-1", institution="CLINIC02", who=patient(3), items=[(AMOXICILLIN, BATCH, 4)],
                           at=DAY + timedelta(days=2)), member="CLINIC02")
    store.deliver(dispense("H1-DSP-1", institution="HOSP01", who=patient(4), items=[(AMOXICILLIN, BATCH, 2)],
                           at=DAY + timedelta(days=2)), member="HOSP01")
    assert store.process() == 8
    run_pass(store.sessions)
    with transaction(store.sessions) as session:  # the settle time has passed
        assert anomalies.judge_due(session, now=utcnow() + anomalies.SETTLE + timedelta(seconds=1)) == 1
    with store.sessions() as session:
        (book,) = trace.ledgers(session, batch=BATCH)
    return book


def _seen(session, book, **scope):
    return scoped.trace(session, book, scoped.TraceScope(**{k: frozenset(v) for k, v in scope.items()}))


def test_the_whole_region_sees_the_trace_function_s_answer(store, batch):
    with store.sessions() as session:
        whole = _seen(session, batch)
        (alert,) = scoped.anomalies(session, batch, scoped.TraceScope())
    full = trace.as_trace(batch)
    assert whole["legs"] == full["legs"] and whole["dispensed"] == full["dispensed"]
    assert [{k: h[k] for k in full["holders"][0]} for h in whole["holders"]] == full["holders"]
    assert all(h["in_scope"] for h in whole["holders"]) and whole["whole"] and whole["recall"] is None
    assert (alert["kind"], alert["institution"]) == ("drug.dispense.excess", "HOSP01")


def test_a_district_sees_its_holders_and_the_path_to_its_boundary(store, batch):
    with store.sessions() as session:
        south = _seen(session, batch, districts={"330105"})
        assert scoped.anomalies(session, batch, scoped.TraceScope(districts=frozenset({"330105"}))) == []
        (alert,) = scoped.anomalies(session, batch, scoped.TraceScope(districts=frozenset({"330102"})))
        assert _seen(session, batch, districts={"330109"}) is None  # never reached: as an unknown batch
    assert [(leg["from"], leg["to"]) for leg in south["legs"]] == [("SUPPLIER01", "CLINIC02")]
    assert south["holders"] == [
        {"code": "CLINIC02", "kind": "institution", "received": "100", "transferred": "0", "returned": "0",
         "dispensed": "4", "stock": "96", "name": "示例街道社区卫生服务中心", "district": "330105",
         "in_scope": True},
        {"code": "SUPPLIER01", "kind": "supplier", "name": "示例医药有限公司", "district": "330106",
         "in_scope": False}]  # named at the boundary, no figures
    assert south["dispensed"] == [{"institution": "CLINIC02", "dispenses": 1, "patients": 1, "quantity": "4"}]
    assert alert["institution"] == "HOSP01"


def test_an_institution_sees_its_own_part(store, batch):
    with store.sessions() as session:
        own = _seen(session, batch, districts={"330102"}, institutions={"CLINIC01"})
    assert [(leg["from"], leg["to"], leg["received"]) for leg in own["legs"]] == [("SUPPLIER01", "CLINIC01", "200")]
    assert [(h["code"], h.get("stock")) for h in own["holders"]] == [("CLINIC01", "192"), ("SUPPLIER01", None)]
    assert [d["institution"] for d in own["dispensed"]] == ["CLINIC01"]


def test_the_console_s_recall_refusals(store, batch):
    now = utcnow()
    with transaction(store.sessions) as session:
        with pytest.raises(WorkflowError) as nobody:  # shipped to an unregistered distributor only
            recall.flag(session, batch=LOST, drug=None, reason="质量缺陷", actor="console:ops", now=now)
        assert (nobody.value.code, nobody.value.fields["field"]) == ("workflow.recall.unreached", "batch")
        made = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="console:ops", now=now,
                           refuse_duplicate=True)
        assert recall.flag(session, batch=BATCH, drug=None, reason="again", actor="B", now=now).id == made.id
        with pytest.raises(WorkflowError) as again:
            recall.flag(session, batch=BATCH, drug=None, reason="again", actor="console:ops", now=now,
                        refuse_duplicate=True)
        assert (again.value.code, again.value.fields["recall"]) == ("workflow.recall.duplicate", made.id)
    with store.sessions() as session:
        assert session.scalars(select(Recall.batch_number)).all() == [BATCH]


def test_recalls_per_scope_with_progress_and_overdue_lines(store, batch):
    now = utcnow()
    with transaction(store.sessions) as session:
        made = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="console:ops", now=now,
                           confirm_within=timedelta(hours=1))
        reply_of = {n.institution: n.reply_id for n in session.scalars(select(RecallNotice))}
    with transaction(store.sessions) as session:  # CLINIC02 acknowledged its notice
        session.execute(update(Reply).where(Reply.reply_id == reply_of["CLINIC02"]).values(acked_at=now))
        recall.sync(session, now=now)
    with store.sessions() as session:
        (whole,) = scoped.recall_list(session, scoped.TraceScope(), now=now + timedelta(hours=2))
        (south,) = scoped.recall_list(session, scoped.TraceScope(institutions=frozenset({"CLINIC02"})), now=now)
        assert scoped.recall_list(session, scoped.TraceScope(districts=frozenset({"330109"})), now=now) == []
        shown = scoped.trace(session, batch, scoped.TraceScope())["recall"]["id"]
    assert shown == made.id
    assert [(n["institution"], n["state"], n["overdue"]) for n in whole["institutions"]] == [
        ("CLINIC01", "sent", True), ("CLINIC02", "confirmed", False), ("HOSP01", "sent", True)]
    assert whole["progress"] == {"confirmed": 1, "notified": 3}
    assert [n["institution"] for n in south["institutions"]] == ["CLINIC02"]  # its own line only
    assert south["progress"] == {"confirmed": 1, "notified": 1}
