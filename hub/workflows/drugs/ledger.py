"""The chain of custody of one drug batch, and its anomalies: pure functions over movement and dispense rows.

A batch moves along **legs** (from → to: supplier → distributor → institution, or back up the
chain for a ``return``) and leaves the chain at the patient (dispenses). One leg is often told twice: the sender
files a ``transfer`` (or ``return``) and the receiver a ``receipt``. Each side's stock trusts its
own report and falls back on the other side's: what entered ``to`` is its receipts if it filed
any, else what was shipped to it; what left ``from`` is its transfers (returns) if it filed any,
else what ``to`` says it received. So a leg told twice counts once, and a member that reports only
one side still has a stock.

    stock(holder) = received − transferred − returned − dispensed

A holder that received nothing in the region (a supplier: the batch's source) has no stock figure.

Anomalies (``judge``), each one alert per (drug, batch, institution):

- ``drug.batch.unknown``: the batch was dispensed but no movement in the region ever names it
  (a counterfeit, or a batch number mistyped at the counter);
- ``drug.dispense.excess``: an institution gave out more of a known batch than it received
  (dispensed + transferred + returned > received: its stock below zero);
- ``drug.dispense.expired``: dispensed after the batch's expiry date (the earliest a movement gives).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

RECEIPT, TRANSFER, RETURN = "receipt", "transfer", "return"
UNKNOWN, EXCESS, EXPIRED = "drug.batch.unknown", "drug.dispense.excess", "drug.dispense.expired"
ZERO = Decimal(0)
CHINA = timezone(timedelta(hours=8), "CST")  # expiry dates are local dates: a dispense's day is judged in China time


@dataclass(frozen=True)
class MovementLine:
    """One item of a DrugMovement document (``record_drug_movement``)."""

    drug: str
    batch: str
    movement_type: str
    from_code: str
    from_kind: str
    to_code: str
    to_kind: str
    quantity: Decimal
    expiry_date: date | None
    moved_at: datetime
    reported_by: str
    document_id: str


@dataclass(frozen=True)
class DispenseLine:
    """One item of a Dispense document (``record_medication`` of kind ``dispense``)."""

    drug: str
    batch: str
    institution: str
    quantity: Decimal
    at: datetime
    document_row_id: int
    person_id: int | None = None


@dataclass
class Leg:
    """What one (from → to) leg of a batch carried, as the sender and the receiver each tell it."""

    from_code: str
    from_kind: str
    to_code: str
    to_kind: str
    shipped: Decimal = ZERO    # the sender's transfers
    sent_back: Decimal = ZERO  # the sender's returns
    received: Decimal = ZERO   # the receiver's receipts
    shipments: int = 0
    receipts: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def is_return(self) -> bool:
        return self.sent_back > ZERO

    @property
    def into_receiver(self) -> Decimal:
        return self.received if self.receipts else self.shipped + self.sent_back

    def out_of_sender(self) -> tuple[Decimal, Decimal]:
        """(transferred, returned) out of the sender: its own report, else what the receiver received."""
        return (self.shipped, self.sent_back) if self.shipments else (self.received, ZERO)


@dataclass
class Holding:
    """One holder's account of the batch."""

    code: str
    kind: str
    received: Decimal = ZERO
    transferred: Decimal = ZERO
    returned: Decimal = ZERO
    dispensed: Decimal = ZERO

    @property
    def is_source(self) -> bool:
        """Received nothing in the region but passed some on: where the batch came from (no stock figure)."""
        return self.received == ZERO and (self.transferred or self.returned) > ZERO and self.dispensed == ZERO

    @property
    def stock(self) -> Decimal | None:
        return None if self.is_source else self.received - self.transferred - self.returned - self.dispensed


@dataclass
class BatchLedger:
    """Every leg, holder and dispense of one drug batch."""

    drug: str
    batch: str
    legs: list[Leg] = field(default_factory=list)
    holders: dict[str, Holding] = field(default_factory=dict)
    dispenses: list[DispenseLine] = field(default_factory=list)
    expiry_date: date | None = None

    @property
    def known(self) -> bool:
        """Some movement in the region names the batch."""
        return bool(self.legs)

    def dispensed_by(self) -> dict[str, list[DispenseLine]]:
        found: dict[str, list[DispenseLine]] = defaultdict(list)
        for line in self.dispenses:
            found[line.institution].append(line)
        return dict(found)


def ledger(drug: str, batch: str, movements: Iterable[MovementLine], dispenses: Iterable[DispenseLine]) -> BatchLedger:
    """The ledger of ``drug`` batch ``batch`` from its movement and dispense lines (others are ignored)."""
    book = BatchLedger(drug, batch)
    legs: dict[tuple[str, str], Leg] = {}
    for line in sorted((m for m in movements if (m.drug, m.batch) == (drug, batch)), key=lambda m: m.moved_at):
        leg = legs.get((line.from_code, line.to_code))
        if leg is None:
            leg = legs[(line.from_code, line.to_code)] = Leg(line.from_code, line.from_kind, line.to_code,
                                                             line.to_kind)
        if line.movement_type == RECEIPT:
            leg.received += line.quantity
            leg.receipts += 1
        else:
            if line.movement_type == RETURN:
                leg.sent_back += line.quantity
            else:
                leg.shipped += line.quantity
            leg.shipments += 1
        leg.first_at = leg.first_at or line.moved_at
        leg.last_at = line.moved_at
        if line.expiry_date is not None and (book.expiry_date is None or line.expiry_date < book.expiry_date):
            book.expiry_date = line.expiry_date
    book.legs = list(legs.values())

    def holder(code: str, kind: str) -> Holding:
        return book.holders.setdefault(code, Holding(code, kind))

    for leg in book.legs:
        holder(leg.to_code, leg.to_kind).received += leg.into_receiver
        sender = holder(leg.from_code, leg.from_kind)
        transferred, returned = leg.out_of_sender()
        sender.transferred += transferred
        sender.returned += returned
    book.dispenses = sorted((d for d in dispenses if (d.drug, d.batch) == (drug, batch)),
                            key=lambda d: (d.at, d.document_row_id))
    for line in book.dispenses:
        holder(line.institution, "institution").dispensed += line.quantity
    return book


@dataclass(frozen=True)
class Anomaly:
    """One anomaly of a batch at an institution: its alert kind, and the codes and counts it rests on."""

    kind: str
    drug: str
    batch: str
    institution: str
    facts: dict

    @property
    def key(self) -> str:
        return f"{self.drug}:{self.batch}:{self.institution}"


def _figure(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def judge(book: BatchLedger) -> list[Anomaly]:
    """The anomalies of one batch's ledger (see the module docstring), by institution."""
    found = []
    base = {"drug": book.drug, "batch": book.batch}
    for institution, lines in sorted(book.dispensed_by().items()):
        dispensed = sum((line.quantity for line in lines), ZERO)
        if not book.known:
            found.append(Anomaly(UNKNOWN, book.drug, book.batch, institution,
                                 {**base, "dispenses": len(lines), "dispensed": _figure(dispensed)}))
            continue
        holding = book.holders[institution]
        if holding.stock is not None and holding.stock < ZERO:
            found.append(Anomaly(EXCESS, book.drug, book.batch, institution,
                                 {**base, "received": _figure(holding.received),
                                  "transferred": _figure(holding.transferred), "returned": _figure(holding.returned),
                                  "dispensed": _figure(dispensed)}))
        late = [line for line in lines if book.expiry_date is not None and line.at.astimezone(CHINA).date() > book.expiry_date]
        if late:
            found.append(Anomaly(EXPIRED, book.drug, book.batch, institution,
                                 {**base, "expiry_date": book.expiry_date.isoformat(), "dispenses": len(late),
                                  "dispensed": _figure(sum((line.quantity for line in late), ZERO))}))
    return found


__all__ = ["RECEIPT", "TRANSFER", "RETURN", "UNKNOWN", "EXCESS", "EXPIRED", "MovementLine", "DispenseLine", "Leg",
           "Holding", "BatchLedger", "ledger", "Anomaly", "judge"]
