"""Drug anomalies and recalls judged on time and against the right party (issue 21's outside review):
the runner's clock judges settled batches and recalls, a recall reaches later holders, one member's
expiry date or transfer claim never counts against another, an overdue alert closes on confirmation,
a recall reason with a control character is refused with a code. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hub.audit import AuditEvent
from hub.auth import issue
from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.web.drugs import router
from hub.workflows import alerts, checks, run_pass, runner
from hub.workflows.drugs import anomalies, recall, trace
from hub.workflows.drugs.ledger import DIFFERS, EXPIRED, UNCONFIRMED, judge, ledger
from hub.workflows.errors import WorkflowError
from hub.workflows.models import Alert
from protocol.timestamps import utcnow

from .drugdocs import AMLODIPINE, AMOXICILLIN, dispense, movement, patient
from .test_drug_ledger import BATCH as LEDGER_BATCH, DRUG, give, move
from .test_drug_workflow import BATCH, DAY, _supplied


def _kinds(store, kind: str | None = None) -> list[tuple[str, str, str]]:
    with store.sessions() as session:
        query = select(Alert).order_by(Alert.id)
        if kind is not None:
            query = query.where(Alert.kind == kind)
        return [(a.kind, a.institution, a.state) for a in session.scalars(query)]


class Clock:
    """The runner's clock (``runner.utcnow``), moved by hand: no test waits on the wall clock."""

    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(runner, "utcnow", lambda: self.now)
        monkeypatch.setattr(checks, "utcnow", lambda: self.now)  # the periodic checks' clock

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _receipt(store, document_id: str, institution: str, quantity: int, *, source=("SUPPLIER01", "supplier"),
             expiry: str = "2027-01-31", days: int = 3) -> None:
    store.deliver(movement(document_id, institution=institution, movement_type="receipt", source=source,
                           target=(institution, "institution"), items=[(AMOXICILLIN, BATCH, quantity, expiry)],
                           at=DAY + timedelta(days=days)), member=institution)
    assert store.process() == 1


def test_a_settled_batch_is_judged_by_the_runners_clock_with_no_new_document(store, monkeypatch):
    clock = Clock(monkeypatch)
    store.deliver(dispense("C2-DSP-9", institution="CLINIC02", who=patient(9), items=[(AMLODIPINE, "FAKE9", 2)],
                           at=DAY), member="CLINIC02")
    assert store.process() == 1
    assert run_pass(store.sessions).changes[anomalies.NAME] == 1
    assert _kinds(store) == []  # not settled yet
    clock.advance(anomalies.SETTLE + timedelta(seconds=1))
    done = run_pass(store.sessions)
    assert done.changes[anomalies.NAME] == 0 and done.changes["drugs.settled"] == 1  # the clock, not a document
    assert _kinds(store) == [("drug.batch.unknown", "CLINIC02", "open")]


def test_an_unconfirmed_recall_is_alerted_overdue_by_a_pass_and_closed_once_confirmed(store, monkeypatch):
    clock = Clock(monkeypatch)
    _supplied(store)
    run_pass(store.sessions)
    with transaction(store.sessions) as session:
        recall_id = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=clock.now,
                                confirm_within=timedelta(hours=1)).id
    run_pass(store.sessions)
    assert _kinds(store, recall.OVERDUE) == []  # within the hour
    clock.advance(timedelta(hours=2))
    assert run_pass(store.sessions).changes[anomalies.NAME] == 0
    assert sorted(_kinds(store, recall.OVERDUE)) == [(recall.OVERDUE, "CLINIC01", "open"),
                                                     (recall.OVERDUE, "HOSP01", "open")]
    with transaction(store.sessions) as session:  # HOSP01 acknowledges its notice, late
        session.execute(update(Reply).where(Reply.kind == "recall", Reply.member == "HOSP01")
                        .values(acked_at=clock.now))
    assert run_pass(store.sessions).changes["drugs.recalls"] == 1
    assert sorted(_kinds(store, recall.OVERDUE)) == [(recall.OVERDUE, "CLINIC01", "open"),
                                                     (recall.OVERDUE, "HOSP01", "closed")]
    with store.sessions() as session:
        closed = session.scalars(select(Alert).where(Alert.key == f"{recall_id}:HOSP01")).one()
        last = alerts.history(session, closed.id)[-1]
        assert (last.action, last.actor) == ("close", alerts.HUB_ACTOR) and closed.closed_at is not None
        assert session.scalars(select(AuditEvent.detail).where(AuditEvent.event_type == "alert.close")).all() == [
            f"workflow_alert:{closed.id} {recall.OVERDUE}"]


def _told(store) -> list[str]:
    with store.sessions() as session:
        return sorted(session.scalars(select(Reply.member).where(Reply.kind == "recall")))


def test_a_later_holder_of_a_recalled_batch_is_told_once_by_a_new_flag_or_by_the_handler(store):
    _supplied(store)
    now = utcnow()
    with transaction(store.sessions) as session:
        found = recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=now,
                            confirm_within=timedelta(hours=1))
        recall_id = found.id
    with transaction(store.sessions) as session:  # both confirm: the recall is complete
        session.execute(update(Reply).where(Reply.kind == "recall").values(acked_at=now))
    with transaction(store.sessions) as session:
        recall.sync(session, now=now)
        assert recall.get_or_raise(session, recall_id=recall_id).completed_at is not None
    _receipt(store, "C2-DM-1", "CLINIC02", 50)
    later = now + timedelta(minutes=30)
    for _ in range(2):  # flagged again, twice: CLINIC02 is told once
        with transaction(store.sessions) as session:
            assert recall.flag(session, batch=BATCH, drug=None, reason="质量缺陷", actor="BUREAU", now=later).id == recall_id
    assert _told(store) == ["CLINIC01", "CLINIC02", "HOSP01"]
    with transaction(store.sessions) as session:
        answer = recall.as_dict(session, recall.get_or_raise(session, recall_id=recall_id))
    assert not answer["complete"]  # until the new holder confirms
    line = {n["institution"]: n for n in answer["institutions"]}["CLINIC02"]
    assert (line["state"], line["received"], line["confirm_by"]) == ("sent", "50",
                                                                     (later + timedelta(hours=1)).isoformat())
    with store.sessions() as session:
        assert session.scalars(select(AuditEvent.detail).where(AuditEvent.event_type == "recall.extend")).all() == [
            f"workflow_recall:{recall_id} CLINIC02"]
    with transaction(store.sessions) as session:  # within its own hour, CLINIC02 is not overdue
        recall.sync(session, now=now + timedelta(hours=1, minutes=10))
    assert _kinds(store, recall.OVERDUE) == []

    with transaction(store.sessions) as session:  # CLINIC02 confirms: complete again
        session.execute(update(Reply).where(Reply.kind == "recall").values(acked_at=utcnow()))
    with transaction(store.sessions) as session:
        recall.sync(session, now=utcnow())
        assert recall.get_or_raise(session, recall_id=recall_id).completed_at is not None
    _receipt(store, "H2-DM-1", "HOSP02", 20, days=4)  # a new holder, no one flags again: the handler tells it
    run_pass(store.sessions)  # (the clock's sync reads incomplete recalls only)
    assert _told(store) == ["CLINIC01", "CLINIC02", "HOSP01", "HOSP02"]
    with store.sessions() as session:
        assert recall.get_or_raise(session, recall_id=recall_id).completed_at is None


def test_one_members_wrong_expiry_date_is_a_finding_on_that_member_only(store, monkeypatch):
    monkeypatch.setattr(anomalies, "SETTLE", timedelta(0))
    _supplied(store)
    _receipt(store, "C2-DM-9", "CLINIC02", 10, expiry="2024-01-31")
    run_pass(store.sessions)
    assert _kinds(store, EXPIRED) == []
    assert _kinds(store, DIFFERS) == [(DIFFERS, "CLINIC02", "open")]
    with store.sessions() as session:
        (book,) = trace.ledgers(session, batch=BATCH)
        finding = session.scalars(select(Alert).where(Alert.kind == DIFFERS)).one()
    assert book.expiry_date == date(2027, 1, 31)  # the supplier's own transfer says so
    assert '"stated": "2024-01-31"' in finding.facts and '"expiry_date": "2027-01-31"' in finding.facts


def test_the_batch_expiry_is_the_suppliers_own_statement_else_the_most_reporters():  # the pure ledger
    def stated(by: str, source: str, target: str, expiry: date, hours: int, kind: str = "receipt"):
        return move(kind, source, target, 10, by=by, hours=hours, expiry=expiry)

    early, late = date(2024, 1, 31), date(2027, 1, 31)
    receipts = [stated("C1", "RD01", "C1", late, 1), stated("C2", "RD01", "C2", early, 2),
                stated("RD01", "RS01", "RD01", late, 0)]
    assert ledger(DRUG, LEDGER_BATCH, receipts, []).expiry_date == late  # two reporters against one
    supplier = stated("RS01", "RS01", "RD01", early, 3, kind="transfer")
    assert ledger(DRUG, LEDGER_BATCH, [*receipts, supplier], []).expiry_date == early  # the supplier's own word
    assert ledger(DRUG, LEDGER_BATCH, [stated("C2", "RD01", "C2", early, 5), stated("C1", "RD01", "C1", late, 6)],
                  []).expiry_date == early  # a tie: the date stated first
    shipped = [move("transfer", "RD01", "C1", 10, by="RD01"), move("transfer", "RD01", "C2", 10, by="RD01")]
    book = ledger(DRUG, LEDGER_BATCH, receipts + shipped, [give("C1", 1, at=DAY.replace(year=2026))])
    assert [(a.kind, a.institution) for a in judge(book)] == [(DIFFERS, "C2")]  # C2 mistyped; C1's dispense is in date


def test_a_receipt_claimed_from_a_member_that_keeps_its_own_books_does_not_reduce_its_stock(store, monkeypatch):
    monkeypatch.setattr(anomalies, "SETTLE", timedelta(0))
    _supplied(store)
    run_pass(store.sessions)
    _receipt(store, "C2-DM-8", "CLINIC02", 195, source=("CLINIC01", "institution"))
    run_pass(store.sessions)
    assert _kinds(store, "drug.dispense.excess") == []
    assert _kinds(store, UNCONFIRMED) == [(UNCONFIRMED, "CLINIC02", "open")]  # a note on the claim, not on CLINIC01
    with store.sessions() as session:
        note = session.scalars(select(Alert).where(Alert.kind == UNCONFIRMED)).one()
    assert (note.key, '"senders": "CLINIC01"' in note.facts) == (f"{AMOXICILLIN}:{BATCH}:CLINIC02", True)
    with store.sessions() as session:
        (book,) = trace.ledgers(session, batch=BATCH)
    assert (book.holders["CLINIC01"].transferred, book.holders["CLINIC01"].stock) == (Decimal(0), Decimal(192))
    assert book.holders["CLINIC02"].stock == Decimal(195)  # the receiver's own word counts for itself
    # a sender that reports nothing of the batch (a supplier outside the hub) is taken at its receivers' word
    chain = [move("receipt", "RS01", "RD01", 500, by="RD01"), move("receipt", "RD01", "C1", 200, by="C1")]
    supplied = ledger(DRUG, LEDGER_BATCH, chain, [])
    assert (supplied.holders["RS01"].stock, supplied.holders["RD01"].transferred) == (None, Decimal(0))
    assert [(a.kind, a.institution, a.facts["senders"]) for a in judge(supplied)] == [(UNCONFIRMED, "C1", "RD01")]


@pytest.fixture
def bureau_api(store):
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    with transaction(store.sessions) as session:
        token = issue(session, member="BUREAU", label="test", now=utcnow())
    client = TestClient(app)
    return lambda body: client.post("/api/drugs/recalls", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("reason", ["质量缺陷\x0b批次", "质量\x00缺陷", "质量缺陷\u202e批次", "缺" * 501])
def test_a_recall_reason_with_a_control_character_or_too_long_is_refused_with_a_code(store, bureau_api, reason):
    _supplied(store)
    answer = bureau_api({"batch": BATCH, "reason": reason})
    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (400, "workflow.recall.invalid",
                                                                                   "reason")
    assert str(reason) not in answer.text  # never echoed
    with pytest.raises(WorkflowError) as refused, transaction(store.sessions) as session:
        recall.flag(session, batch=BATCH, drug=None, reason=reason, actor="BUREAU", now=utcnow())
    assert (refused.value.code, refused.value.fields["field"]) == ("workflow.recall.invalid", "reason")
    assert _told(store) == []
    made = bureau_api({"batch": BATCH, "reason": "质量缺陷：\n1. 含量不足\t复检\r\n"})  # line breaks and tabs are text
    assert made.status_code == 200 and made.json()["reason"] == "质量缺陷：\n1. 含量不足\t复检"
