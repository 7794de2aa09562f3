"""Drug traceability on a store (SQLite and PostgreSQL): a batch's chain of custody from stored movements
and dispenses, the anomalies as alerts the runner raises, and a recall's fan-out and confirmations."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import select, update

from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.workflows import run_pass, subscriptions
from hub.workflows.drugs import anomalies, recall, trace
from hub.workflows.errors import WorkflowError
from hub.workflows.models import Alert
from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc, utcnow

from .drugdocs import AMLODIPINE, AMOXICILLIN, CHINA, dispense, movement, patient
from .reports import cancellation

BATCH, FAKE, OLD = "AMX2502123", "AML2501950", "AMX2301111"
DAY = datetime(2025, 2, 3, 9, 0, tzinfo=CHINA)


@pytest.fixture
def at_once(monkeypatch):
    """Batches judged on the pass that stores their documents (no settle time)."""
    monkeypatch.setattr(anomalies, "SETTLE", timedelta(0))


def _supplied(store) -> None:
    """SUPPLIER01 ships 200 to CLINIC01 (which files its receipt) and 100 to HOSP01 (which files none);
    CLINIC01 dispenses to patients 1 and 2, HOSP01 to patient 3."""
    store.deliver(movement("SUP-DM-1", institution="SUPPLIER01", movement_type="transfer",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                           items=[(AMOXICILLIN, BATCH, 200, "2027-01-31")], at=DAY),
                  movement("SUP-DM-2", institution="SUPPLIER01", movement_type="transfer",
                           source=("SUPPLIER01", "supplier"), target=("HOSP01", "institution"),
                           items=[(AMOXICILLIN, BATCH, 100, "2027-01-31")], at=DAY), member="SUPPLIER01")
    store.deliver(movement("C1-DM-1", institution="CLINIC01", movement_type="receipt",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                           items=[(AMOXICILLIN, BATCH, 200, "2027-01-31")], at=DAY + timedelta(hours=1)),
                  dispense("C1-DSP-1", institution="CLINIC01", who=patient(1), items=[(AMOXICILLIN, BATCH, 5)],
                           at=DAY + timedelta(days=1)),
                  dispense("C1-DSP-2", institution="CLINIC01", who=patient(2), items=[(AMOXICILLIN, BATCH, 3)],
                           at=DAY + timedelta(days=2)))
    store.deliver(dispense("H1-DSP-1", institution="HOSP01", who=patient(3), items=[(AMOXICILLIN, BATCH, 4)],
                           at=DAY + timedelta(days=1)), member="HOSP01")
    assert store.process() == 6


def _alerts(store) -> dict[tuple[str, str], tuple[int, str]]:
    with store.sessions() as session:
        return {(a.kind, a.key): (a.count, a.institution) for a in session.scalars(
            select(Alert).where(Alert.kind.like("drug.%")))}


def test_the_chain_of_custody_counts_a_leg_told_twice_once(store, at_once):
    _supplied(store)
    with store.sessions() as session:
        (book,) = trace.ledgers(session, batch=BATCH)
        found = trace.as_trace(book)
    holders = {h["code"]: (h["received"], h["transferred"], h["dispensed"], h["stock"]) for h in found["holders"]}
    assert holders == {"SUPPLIER01": ("0", "300", "0", None),  # the source: no stock figure
                       "CLINIC01": ("200", "0", "8", "192"),  # its receipt and the supplier's transfer: once
                       "HOSP01": ("100", "0", "4", "96")}  # no receipt filed: what was shipped to it
    assert [(leg["from"], leg["to"], leg["shipped"], leg["received"]) for leg in found["legs"]] == [
        ("SUPPLIER01", "CLINIC01", "200", "200"), ("SUPPLIER01", "HOSP01", "100", None)]
    assert found["dispensed"] == [{"institution": "CLINIC01", "dispenses": 2, "patients": 2, "quantity": "8"},
                                  {"institution": "HOSP01", "dispenses": 1, "patients": 1, "quantity": "4"}]
    assert found["expiry_date"] == "2027-01-31"
    run_pass(store.sessions)
    assert _alerts(store) == {}  # a clean batch: nothing flagged
    with pytest.raises(WorkflowError) as unknown, store.sessions() as session:
        trace.ledgers(session, batch="NOSUCH")
    assert unknown.value.code == "workflow.drug.not_found"


def test_each_anomaly_is_one_alert_that_updates(store, at_once):
    _supplied(store)
    run_pass(store.sessions)
    store.deliver(dispense("C2-DSP-1", institution="CLINIC02", who=patient(4), items=[(AMLODIPINE, FAKE, 2)],
                           at=DAY), member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    assert _alerts(store) == {("drug.batch.unknown", f"{AMLODIPINE}:{FAKE}:CLINIC02"): (1, "CLINIC02")}
    store.deliver(dispense("C2-DSP-2", institution="CLINIC02", who=patient(5), items=[(AMLODIPINE, FAKE, 1)],
                           at=DAY), member="CLINIC02")
    store.deliver(dispense("H1-DSP-2", institution="HOSP01", who=patient(6), items=[(AMOXICILLIN, BATCH, 97)],
                           at=DAY + timedelta(days=3)), member="HOSP01")  # 101 of the 100 it was sent
    store.deliver(movement("C1-DM-2", institution="CLINIC01", movement_type="receipt",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                           items=[(AMOXICILLIN, OLD, 10, "2025-01-31")], at=DAY - timedelta(days=400)),
                  dispense("C1-DSP-3", institution="CLINIC01", who=patient(7), items=[(AMOXICILLIN, OLD, 1)],
                           at=DAY))  # 3 February 2025: three days past its expiry
    store.process()
    run_pass(store.sessions)
    assert _alerts(store) == {("drug.batch.unknown", f"{AMLODIPINE}:{FAKE}:CLINIC02"): (2, "CLINIC02"),
                              ("drug.dispense.excess", f"{AMOXICILLIN}:{BATCH}:HOSP01"): (1, "HOSP01"),
                              ("drug.dispense.expired", f"{AMOXICILLIN}:{OLD}:CLINIC01"): (1, "CLINIC01")}
    with store.sessions() as session:
        excess = session.scalars(select(Alert).where(Alert.kind == "drug.dispense.excess")).one()
        assert (excess.district, excess.owner) == ("330102", "bureau")
        assert '"dispensed": "101"' in excess.facts and '"received": "100"' in excess.facts
    store.deliver(cancellation("C1-CXL-1", "C1-DSP-3"))  # the expired dispense was entered by mistake
    store.process()
    run_pass(store.sessions)  # judged again: its alert stays for the bureau, nothing new is raised
    assert len(_alerts(store)) == 3
    assert run_pass(store.sessions).total == 0


def test_a_dispense_stored_before_the_receipt_it_draws_on_is_not_flagged(store):
    """The region's load sends a member-month's dispenses before its receipt: the batch waits its settle time."""
    store.deliver(dispense("C1-DSP-1", institution="CLINIC01", who=patient(1), items=[(AMOXICILLIN, BATCH, 5)],
                           at=DAY + timedelta(days=1)))
    store.process()
    run_pass(store.sessions)  # no one's movement of the batch is stored yet: it would be "unknown" now
    store.deliver(movement("C1-DM-1", institution="CLINIC01", movement_type="receipt",
                           source=("SUPPLIER01", "supplier"), target=("CLINIC01", "institution"),
                           items=[(AMOXICILLIN, BATCH, 200, "2027-01-31")], at=DAY))
    store.process()
    run_pass(store.sessions)
    store.deliver(dispense("C2-DSP-1", institution="CLINIC02", who=patient(4), items=[(AMLODIPINE, FAKE, 2)],
                           at=DAY), member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    with transaction(store.sessions) as session:
        assert anomalies.judge_due(session, now=utcnow()) == 0  # not settled yet: nothing judged
        assert anomalies.judge_due(session, now=utcnow() + anomalies.SETTLE + timedelta(seconds=1)) == 1
    assert _alerts(store) == {("drug.batch.unknown", f"{AMLODIPINE}:{FAKE}:CLINIC02"): (1, "CLINIC02")}
    with store.sessions() as session:  # judged, out of the line
        assert session.scalars(select(anomalies.PendingBatch)).all() == []


def _notice(content: bytes) -> tuple[str, list[str], dict]:
    root = etree.fromstring(content)
    return (root.findtext(q(WORKFLOW, "Institution")), [p.get("document") for p in root.iter(q(WORKFLOW, "Patient"))],
            {f.get("code"): f.get("value") for f in root.iter(q(WORKFLOW, "Fact"))})


def test_a_recall_tells_each_institution_its_own_patients_and_waits_for_every_confirmation(store):
    _supplied(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        subscriptions.subscribe(session, member="CDC01", topic="recall", filter=None, actor="CDC01", now=now)
        with pytest.raises(WorkflowError) as refused:
            recall.flag(session, batch=BATCH, drug=None, reason=" ", actor="BUREAU", now=now)
        assert refused.value.code == "workflow.recall.invalid"
        found = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=now,
                            confirm_within=timedelta(hours=1))
        assert recall.flag(session, batch=BATCH, drug=None, reason="again", actor="BUREAU", now=now).id == found.id
        recall_id = found.id
    with store.sessions() as session:
        sent = {r.member: r for r in session.scalars(select(Reply).where(Reply.kind == "recall"))}
    assert set(sent) == {"CLINIC01", "HOSP01", "CDC01"}  # the supplier was the source: not told
    assert _notice(sent["CDC01"].content) == (None, [], {"drug": AMOXICILLIN, "batch": BATCH, "institutions": "2",
                                                         "confirm_by": format_utc(now + timedelta(hours=1))})
    # a subscriber: the recall, its reason and how many institutions, never a patient count
    assert etree.fromstring(sent["CDC01"].content).findtext(q(WORKFLOW, "Note")) == "质量缺陷"
    assert _notice(sent["CLINIC01"].content)[:2] == ("CLINIC01", ["C1-DSP-1", "C1-DSP-2"])
    assert _notice(sent["HOSP01"].content)[:2] == ("HOSP01", ["H1-DSP-1"])
    assert _notice(sent["HOSP01"].content)[2] == {"drug": AMOXICILLIN, "batch": BATCH, "received": "100",
                                                  "dispensed": "4"}
    assert "合成患者".encode() not in sent["HOSP01"].content + sent["CLINIC01"].content  # keys, not names

    with transaction(store.sessions) as session:  # CLINIC01 acknowledges its reply (AckReplies)
        session.execute(update(Reply).where(Reply.reply_id == sent["CLINIC01"].reply_id).values(acked_at=now))
    with transaction(store.sessions) as session:
        assert recall.sync(session, now=now) == 1
        answer = recall.as_dict(session, recall.get_or_raise(session, recall_id=recall_id))
    assert [(n["institution"], n["state"], n["patients"]) for n in answer["institutions"]] == [
        ("CLINIC01", "confirmed", 2), ("HOSP01", "sent", 1)]
    assert not answer["complete"] and _alerts(store) == {}
    with transaction(store.sessions) as session:  # past the hour: HOSP01's notice is overdue
        recall.sync(session, now=now + timedelta(hours=2))
        recall.sync(session, now=now + timedelta(hours=3))
    assert _alerts(store) == {("drug.recall.overdue", f"{recall_id}:HOSP01"): (1, "HOSP01")}
    with transaction(store.sessions) as session:
        session.execute(update(Reply).where(Reply.reply_id == sent["HOSP01"].reply_id).values(acked_at=now))
    with transaction(store.sessions) as session:
        recall.sync(session, now=now + timedelta(hours=4))
        assert recall.as_dict(session, recall.get_or_raise(session, recall_id=recall_id))["complete"]
