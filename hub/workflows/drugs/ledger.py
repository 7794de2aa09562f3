"""The chain of custody of one drug batch, and its anomalies: pure functions over movement and dispense rows.

A batch moves along **legs** (from → to: supplier → distributor → institution, or back up the
chain for a ``return``) and leaves the chain at the patient (dispenses). One leg is often told twice: the sender
files a ``transfer`` (or ``return``) and the receiver a ``receipt``. Each side's stock trusts its
own report: what entered ``to`` is its receipts if it filed any, else what was shipped to it; what
left ``from`` is its transfers (returns). So a leg told twice counts once. Only a sender that reports
nothing of the batch itself (a supplier outside the hub, a party that does not file) is taken at its
receivers' word (what ``to`` says it received): a receipt claimed "from X" never reduces the stock of
an X that keeps its own books of the batch, so one member cannot make another look short.

    stock(holder) = received − transferred − returned − dispensed

A holder that received nothing in the region (a supplier: the batch's source) has no stock figure.

Anomalies (``judge``), each one alert per (drug, batch, institution):

- ``drug.batch.unknown``: the batch was dispensed but no movement in the region ever names it
  (a counterfeit, or a batch number mistyped at the counter);
- ``drug.dispense.excess``: an institution gave out more of a known batch than it received
  (dispensed + transferred + returned > received: its stock below zero);
- ``drug.dispense.expired``: dispensed after the batch's expiry date (``expiry_of``: what the supplier's
  own first movement states, else the value most reporters state);
- ``drug.movement.expiry``: a member's movement states another expiry date than the batch's (a finding
  about that member's documents, never ``expired`` alerts against the others);
- ``drug.shipment.unconfirmed``: a member reports receiving the batch from a sender that keeps its own
  books of the batch but reports no such shipment (a note on the receiver's claim, not on the sender).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

RECEIPT, TRANSFER, RETURN = "receipt", "transfer", "return"
UNKNOWN, EXCESS, EXPIRED = "drug.batch.unknown", "drug.dispense.excess", "drug.dispense.expired"
DIFFERS, UNCONFIRMED = "drug.movement.expiry", "drug.shipment.unconfirmed"
SUPPLIER = "supplier"
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

    def out_of_sender(self, *, sender_reports: bool) -> tuple[Decimal, Decimal]:
        """(transferred, returned) out of the sender: its own report; what the receiver received only when
        the sender reports nothing of the batch (``sender_reports``: it filed some line of it)."""
        if self.shipments or sender_reports:
            return self.shipped, self.sent_back
        return self.received, ZERO


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
    stated_expiry: dict[str, set[date]] = field(default_factory=dict)  # reporter → the expiry dates it stated
    reporters: set[str] = field(default_factory=set)  # who filed some movement or dispense of the batch

    @property
    def known(self) -> bool:
        """Some movement in the region names the batch."""
        return bool(self.legs)

    def dispensed_by(self) -> dict[str, list[DispenseLine]]:
        found: dict[str, list[DispenseLine]] = defaultdict(list)
        for line in self.dispenses:
            found[line.institution].append(line)
        return dict(found)


def expiry_of(lines: list[MovementLine]) -> date | None:
    """The batch's expiry date from its movement lines (in time order): what the supplier's own first
    movement states (a supplier that received none of the batch in the region: its source); else the date
    the most reporters state (a tie: the one stated first). One member's mistyped date never becomes the batch's."""
    stated = [line for line in lines if line.expiry_date is not None]
    receivers = {line.to_code for line in lines}
    for line in stated:
        if line.from_kind == SUPPLIER and line.reported_by == line.from_code and line.from_code not in receivers:
            return line.expiry_date
    reporters: dict[date, set[str]] = defaultdict(set)
    first: dict[date, int] = {}
    for position, line in enumerate(stated):
        reporters[line.expiry_date].add(line.reported_by)
        first.setdefault(line.expiry_date, position)
    return min(reporters, key=lambda value: (-len(reporters[value]), first[value]), default=None)


def ledger(drug: str, batch: str, movements: Iterable[MovementLine], dispenses: Iterable[DispenseLine]) -> BatchLedger:
    """The ledger of ``drug`` batch ``batch`` from its movement and dispense lines (others are ignored)."""
    book = BatchLedger(drug, batch)
    legs: dict[tuple[str, str], Leg] = {}
    mine = sorted((m for m in movements if (m.drug, m.batch) == (drug, batch)), key=lambda m: m.moved_at)
    for line in mine:
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
    book.expiry_date = expiry_of(mine)
    for line in mine:
        if line.expiry_date is not None:
            book.stated_expiry.setdefault(line.reported_by, set()).add(line.expiry_date)
    book.legs = list(legs.values())
    book.dispenses = sorted((d for d in dispenses if (d.drug, d.batch) == (drug, batch)),
                            key=lambda d: (d.at, d.document_row_id))
    book.reporters = reporters = {line.reported_by for line in mine} | {line.institution for line in book.dispenses}

    def holder(code: str, kind: str) -> Holding:
        return book.holders.setdefault(code, Holding(code, kind))

    for leg in book.legs:
        holder(leg.to_code, leg.to_kind).received += leg.into_receiver
        sender = holder(leg.from_code, leg.from_kind)
        transferred, returned = leg.out_of_sender(sender_reports=leg.from_code in reporters)
        sender.transferred += transferred
        sender.returned += returned
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
    for reporter, dates in sorted(book.stated_expiry.items()):
        other = sorted(value for value in dates if value != book.expiry_date)
        if book.expiry_date is not None and other:
            found.append(Anomaly(DIFFERS, book.drug, book.batch, reporter,
                                 {**base, "expiry_date": book.expiry_date.isoformat(),
                                  "stated": ",".join(value.isoformat() for value in other)}))
    claims: dict[str, list[Leg]] = defaultdict(list)  # receiver → its receipts no reporting sender confirms
    for leg in book.legs:
        if leg.receipts and not leg.shipments and leg.from_code in book.reporters:
            claims[leg.to_code].append(leg)
    for receiver, legs in sorted(claims.items()):
        found.append(Anomaly(UNCONFIRMED, book.drug, book.batch, receiver,
                             {**base, "senders": ",".join(sorted(leg.from_code for leg in legs)),
                              "received": _figure(sum((leg.received for leg in legs), ZERO))}))
    return found


__all__ = ["RECEIPT", "TRANSFER", "RETURN", "UNKNOWN", "EXCESS", "EXPIRED", "DIFFERS", "UNCONFIRMED", "expiry_of",
           "MovementLine", "DispenseLine", "Leg", "Holding", "BatchLedger", "ledger", "Anomaly", "judge"]
