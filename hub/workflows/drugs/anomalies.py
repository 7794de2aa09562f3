"""The drug anomalies as alerts, judged for every batch a stored movement or dispense touches, once settled.

Each anomaly (``ledger.judge``: an unknown batch dispensed, more dispensed than received, dispensed
after expiry) is one alert per (drug, batch, institution), raised or updated when its batch is judged
(the occurrence: the first document that touched the batch since it was last judged, counted once).

A touched batch is judged ``SETTLE`` after the first document that touched it (``workflow_drug_pending``),
not at once: the two sides of the chain send on their own, and a dispense stored a moment before the
receipt it draws on (a backlog sent in planning order, two members' agents) would otherwise be judged
against a ledger that is missing that receipt. Pending batches are judged on each pass of the handler
and, with no new document, by the runner's clock-driven check ``drugs.settled`` (``periodic``: every
full pass, at least once a minute in the processor's process) and ``judge_due`` (``hie drugs check``).
A cancelled document's lines are gone: the batches of the live drug alerts are judged again, so none
is lost. The recalls of the touched batches reach their new holders at once (``recall.reach``), and the
recalls' confirmations and overdue notices are brought up to date on the same pass and by the check
``drugs.recalls`` (``recall.sync``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from ...registry.models import Institution
from .. import alerts
from ..models import Alert, AlertState
from ..runner import DocumentChange, on_documents, periodic
from . import recall, sql
from .ledger import DIFFERS, EXCESS, EXPIRED, UNCONFIRMED, UNKNOWN, judge, ledger
from .models import PendingBatch, Recall

NAME = "drugs.anomalies"
KINDS = (UNKNOWN, EXCESS, EXPIRED, DIFFERS, UNCONFIRMED)
SETTLE = timedelta(minutes=10)  # how long a touched batch waits for the other side of its movements
JUDGE_BATCH = 500  # batches judged per call (each is two indexed queries)


def _live_batches(session: Session) -> set[tuple[str, str]]:
    """(drug, batch) of every drug alert not closed (its key: drug:batch:institution)."""
    keys = session.scalars(select(Alert.key).where(Alert.kind.in_(KINDS), Alert.state != AlertState.CLOSED.value))
    return {tuple(key.split(":")[:2]) for key in keys}


def check_batches(session: Session, batches: set[tuple[str, str]], *, now: datetime,
                  occurrence: dict[tuple[str, str], str | None]) -> int:
    """Judge each (drug, batch) now and raise or update its alerts; how many alerts changed."""
    changed = 0
    districts = {row.code: row.division_code
                 for row in session.execute(select(Institution.code, Institution.division_code))}
    for drug, batch in sorted(batches):
        book = ledger(drug, batch, sql.movement_lines(session, batch=batch, drug=drug),
                      sql.dispense_lines(session, batch=batch, drug=drug))
        for anomaly in judge(book):
            raised = alerts.raise_alert(session, kind=anomaly.kind, key=anomaly.key, now=now, facts=anomaly.facts,
                                        owner="bureau", district=districts.get(anomaly.institution),
                                        institution=anomaly.institution, occurrence=occurrence.get((drug, batch)))
            changed += raised.changed
    return changed


def defer(session: Session, touched: dict[tuple[str, str], str | None], *, now: datetime) -> None:
    """Put each touched batch in line to be judged ``SETTLE`` from now (a batch in line keeps its time)."""
    for (drug, batch), occurrence in sorted(touched.items()):
        if session.get(PendingBatch, (drug, batch)) is None:
            session.add(PendingBatch(drug_code=drug, batch_number=batch, due_at=now + SETTLE, occurrence=occurrence))
    session.flush()


def due(*, now: datetime, limit: int = JUDGE_BATCH):
    """The query of the batches whose settle time has passed, oldest first."""
    return select(PendingBatch).where(PendingBatch.due_at <= now).order_by(PendingBatch.due_at).limit(limit)


def judge_due(session: Session, *, now: datetime, limit: int = JUDGE_BATCH) -> int:
    """Judge the batches whose settle time has passed (at most ``limit``); how many alerts changed."""
    # rows another pass is judging (the clock's check in another processor) are left to it (PostgreSQL)
    pending_due = list(session.scalars(due(now=now, limit=limit).with_for_update(skip_locked=True)))
    if not pending_due:
        return 0
    changed = check_batches(session, {(p.drug_code, p.batch_number) for p in pending_due}, now=now,
                            occurrence={(p.drug_code, p.batch_number): p.occurrence for p in pending_due})
    for pending in pending_due:
        session.execute(delete(PendingBatch).where(PendingBatch.drug_code == pending.drug_code,
                                                   PendingBatch.batch_number == pending.batch_number))
    return changed


@on_documents("DrugMovement", "Dispense", name=NAME)
def drug_documents(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Put the batches the changed documents touch in line (all live alerts' batches after a cancellation),
    judge those due, and bring the recalls up to date."""
    live = [c for c in changes if not c.cancelled]
    occurrences = {c.document_row_id: c.occurrence for c in live}
    touched: dict[tuple[str, str], str | None] = {}
    for document_row_id, drug, batch in sql.batches_of(session, occurrences):
        touched.setdefault((drug, batch), occurrences[document_row_id])  # the first document that showed it
    if len(live) < len(changes):
        for pair in _live_batches(session):
            touched.setdefault(pair, None)
    defer(session, touched, now=now)
    judge_due(session, now=now)
    recall.reach(session, batches=set(touched), now=now)
    recall.sync(session, now=now)


def batches_due(session: Session, now: datetime) -> bool:
    """Whether a batch's settle time has passed (read before any write)."""
    return bool(session.scalar(select(exists().where(PendingBatch.due_at <= now))))


def recalls_open(session: Session, now: datetime) -> bool:
    """Whether a recall is not complete yet (read before any write)."""
    return bool(session.scalar(select(exists().where(Recall.completed_at.is_(None)))))


@periodic("drugs.settled", probe=batches_due)
def judge_settled(session: Session, now: datetime) -> int:
    """The runner's clock: batches whose settle time has passed are judged with no new document."""
    return judge_due(session, now=now)


@periodic("drugs.recalls", probe=recalls_open)
def sync_recalls(session: Session, now: datetime) -> int:
    """The runner's clock: recall confirmations, new holders and overdue notices with no new document."""
    return recall.sync(session, now=now)


__all__ = ["NAME", "KINDS", "SETTLE", "check_batches", "defer", "due", "judge_due", "drug_documents",
           "judge_settled", "sync_recalls", "batches_due", "recalls_open"]
