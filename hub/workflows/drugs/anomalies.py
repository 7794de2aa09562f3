"""The drug anomalies as alerts, judged again for every batch a stored movement or dispense touches.

Each anomaly (``ledger.judge``: an unknown batch dispensed, more dispensed than received, dispensed
after expiry) is one alert per (drug, batch, institution), raised or updated by the document that
showed it again (its occurrence: counted once). A cancelled document's lines are gone: the batches of
the live drug alerts are judged again, so none is lost. The recalls' confirmations and overdue
notices are brought up to date on the same pass (``recall.sync``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...registry.models import Institution
from .. import alerts
from ..models import Alert, AlertState
from ..runner import DocumentChange, on_documents
from . import recall, sql
from .ledger import EXCESS, EXPIRED, UNKNOWN, judge, ledger

NAME = "drugs.anomalies"
KINDS = (UNKNOWN, EXCESS, EXPIRED)


def _live_batches(session: Session) -> set[tuple[str, str]]:
    """(drug, batch) of every drug alert not closed (its key: drug:batch:institution)."""
    keys = session.scalars(select(Alert.key).where(Alert.kind.in_(KINDS), Alert.state != AlertState.CLOSED.value))
    return {tuple(key.split(":")[:2]) for key in keys}


def check_batches(session: Session, batches: set[tuple[str, str]], *, now: datetime,
                  occurrence: dict[tuple[str, str], str]) -> int:
    """Judge each (drug, batch) and raise or update its alerts; how many alerts changed."""
    changed = 0
    districts = dict(session.execute(select(Institution.code, Institution.division_code)).all())
    for drug, batch in sorted(batches):
        book = ledger(drug, batch, sql.movement_lines(session, batch=batch, drug=drug),
                      sql.dispense_lines(session, batch=batch, drug=drug))
        for anomaly in judge(book):
            raised = alerts.raise_alert(session, kind=anomaly.kind, key=anomaly.key, now=now, facts=anomaly.facts,
                                        owner="bureau", district=districts.get(anomaly.institution),
                                        institution=anomaly.institution, occurrence=occurrence.get((drug, batch)))
            changed += raised.changed
    return changed


@on_documents("DrugMovement", "Dispense", name=NAME)
def drug_documents(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Judge the batches the changed documents touch (all live alerts' batches after a cancellation)."""
    live = [c for c in changes if not c.cancelled]
    occurrences = {c.document_row_id: c.occurrence for c in live}
    touched: dict[tuple[str, str], str] = {}
    for document_row_id, drug, batch in sql.batches_of(session, occurrences):
        touched.setdefault((drug, batch), occurrences[document_row_id])  # the first document that showed it
    batches = set(touched)
    if len(live) < len(changes):
        batches |= _live_batches(session)
    check_batches(session, batches, now=now, occurrence=touched)
    recall.sync(session, now=now)


__all__ = ["NAME", "KINDS", "check_batches", "drug_documents"]
