"""Queries over a batch's chain of custody: where it went, who holds it, which patients received it.

Movements carry no patient. Which institutions' figures a caller sees is its scope
(``hub.workflows.drugs.scoped``: a city bureau all, a district bureau those of its districts, any other
member its own); ``patients`` takes them as ``institutions``. Within them patients follow the record
rules (``hub.records.access``): a care provider sees its own dispenses' patients identified; the bureau
sees them identified with an identified-access grant and a purpose (public health, quality review), as
counts otherwise; any other member sees counts. Every person shown identified is audited
(``record.read.drug_patients``, one event per person).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from ... import audit
from ...records.access import CARE_KINDS, Requester, may_search
from ..errors import WorkflowError
from . import sql
from .ledger import BatchLedger, ledger


def _figure(value: Decimal | None) -> str | None:
    return None if value is None else (format(value.normalize(), "f") if value else "0")


def ledgers(session: Session, *, batch: str, drug: str | None = None) -> list[BatchLedger]:
    """The ledger of ``batch`` for each drug it is known under (``drug`` only, if given)."""
    drugs = [drug] if drug else sql.drugs_of(session, batch=batch)
    movements = sql.movement_lines(session, batch=batch, drug=drug)
    dispenses = sql.dispense_lines(session, batch=batch, drug=drug)
    found = [ledger(code, batch, movements, dispenses) for code in drugs]
    found = [book for book in found if book.legs or book.dispenses]
    if not found:
        raise WorkflowError("workflow.drug.not_found", "no movement or dispense names this batch")
    return found


def as_trace(book: BatchLedger) -> dict:
    """Where the batch went (every leg over time), who holds it now, dispensed per institution (counts)."""
    by_institution = book.dispensed_by()
    return {
        "drug": book.drug, "batch": book.batch, "known": book.known,
        "expiry_date": book.expiry_date.isoformat() if book.expiry_date else None,
        "legs": [{"from": leg.from_code, "from_kind": leg.from_kind, "to": leg.to_code, "to_kind": leg.to_kind,
                  "shipped": _figure(leg.shipped) if leg.shipments else None,
                  "returned": _figure(leg.sent_back) if leg.sent_back else None,
                  "received": _figure(leg.received) if leg.receipts else None,
                  "first_at": leg.first_at.isoformat(), "last_at": leg.last_at.isoformat()} for leg in book.legs],
        "holders": [{"code": h.code, "kind": h.kind, "received": _figure(h.received),
                     "transferred": _figure(h.transferred), "returned": _figure(h.returned),
                     "dispensed": _figure(h.dispensed), "stock": _figure(h.stock)}
                    for h in sorted(book.holders.values(), key=lambda h: h.code)],
        "dispensed": [{"institution": institution, "dispenses": len(lines),
                       "patients": len({line.person_id for line in lines}),
                       "quantity": _figure(sum((line.quantity for line in lines), Decimal(0)))}
                      for institution, lines in sorted(by_institution.items())],
    }


def _identified_for(requester: Requester, purpose: str | None) -> str:
    """Whose patients ``requester`` sees identified: ``all`` (the bureau with a grant), ``own``, or ``none``."""
    if requester.role == "bureau":
        if purpose is None:
            return "none"
        may_search(requester, purpose)  # the grant and the purpose, or access.denied
        return "all"
    if requester.active and requester.kind in CARE_KINDS:
        return "own"
    return "none"


def patients(session: Session, *, requester: Requester, drug: str, batch: str, purpose: str | None,
             now: datetime, client_address: str | None = None, institutions: frozenset[str] | None = None) -> dict:
    """Which patients received the batch, per institution (those of ``institutions`` only, if given: the
    requester's scope): identified where the rules allow, else counts."""
    which = _identified_for(requester, purpose)
    rows = [row for row in sql.dispensed_patients(session, drug=drug, batch=batch)
            if institutions is None or row.institution in institutions]
    institutions: dict[str, dict] = {}
    shown: set[int] = set()
    for row in rows:
        entry = institutions.setdefault(row.institution, {"institution": row.institution, "dispenses": 0,
                                                          "persons": set(), "quantity": Decimal(0)})
        entry["dispenses"] += 1
        entry["persons"].add(row.person_id)
        entry["quantity"] += row.quantity
        if which == "all" or (which == "own" and row.institution == requester.member):
            entry.setdefault("identified", []).append(
                {"person_id": row.person_id, "patient_key": row.local_key, "name": row.name,
                 "dispense": row.document_id, "at": row.at.isoformat(), "quantity": _figure(row.quantity)})
            shown.add(row.person_id)
    for person_id in sorted(shown):  # every person shown identified: one audit event each, as every record read
        audit.record(session, "record.read.drug_patients", member=requester.member, person_id=person_id,
                     purpose=purpose or "own_patient", client_address=client_address, detail=f"{drug}:{batch}"[:200])
    answer = []
    for entry in institutions.values():
        persons = entry.pop("persons")
        entry.update(patients=len(persons), quantity=_figure(entry["quantity"]))
        answer.append(entry)
    return {"drug": drug, "batch": batch, "identified": which, "institutions": answer}


__all__ = ["ledgers", "as_trace", "patients"]
