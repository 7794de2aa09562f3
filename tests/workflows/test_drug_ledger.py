"""The batch ledger (pure): a leg told by both sides counts once, either side alone still counts, returns
go back up the chain, the source has no stock; the anomalies' edges (stock exactly zero, the expiry day
in China time, an unknown batch flagged as unknown only)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hub.workflows.drugs.ledger import (
    EXCESS, EXPIRED, UNKNOWN, DispenseLine, MovementLine, judge, ledger,
)

DRUG, BATCH = "YP0001", "AMX2502123"
T0 = datetime(2025, 2, 1, 1, 0, tzinfo=timezone.utc)
PARTIES = {"RS01": "supplier", "RD01": "distributor", "C1": "institution", "C2": "institution"}


def move(kind: str, source: str, target: str, quantity: int, *, by: str, hours: int = 0,
         expiry: date | None = date(2027, 1, 31), batch: str = BATCH) -> MovementLine:
    return MovementLine(DRUG, batch, kind, source, PARTIES[source], target, PARTIES[target], Decimal(quantity), expiry,
                        T0 + timedelta(hours=hours), by, f"{by}-{kind}-{hours}")


def give(institution: str, quantity: int, *, at: datetime = T0 + timedelta(days=2), batch: str = BATCH,
         person: int = 1) -> DispenseLine:
    return DispenseLine(DRUG, batch, institution, Decimal(quantity), at, person, person)


def _stock(book) -> dict:
    return {code: (h.received, h.transferred, h.returned, h.dispensed, h.stock) for code, h in book.holders.items()}


CHAIN = [move("receipt", "RS01", "RD01", 500, by="RD01"),  # the distributor's receipt from its supplier
         move("transfer", "RD01", "C1", 200, by="RD01", hours=1),  # told by the sender ...
         move("receipt", "RD01", "C1", 200, by="C1", hours=2),  # ... and by the receiver: once
         move("transfer", "RD01", "C2", 100, by="RD01", hours=1)]  # C2 files no receipt


def test_a_leg_told_twice_counts_once_and_either_side_alone_counts():
    book = ledger(DRUG, BATCH, CHAIN, [give("C1", 5), give("C2", 7)])
    D = Decimal
    assert _stock(book) == {"RS01": (D(0), D(500), D(0), D(0), None),  # the source
                            "RD01": (D(500), D(300), D(0), D(0), D(200)),
                            "C1": (D(200), D(0), D(0), D(5), D(195)),
                            "C2": (D(100), D(0), D(0), D(7), D(93))}
    assert judge(book) == []


def test_a_receipt_short_of_the_transfer_counts_as_received_and_a_return_goes_back_up():
    lines = [*CHAIN[:2], move("receipt", "RD01", "C1", 190, by="C1", hours=2),  # 10 lost on the way
             move("return", "C1", "RD01", 40, by="C1", hours=30),
             move("receipt", "C1", "RD01", 40, by="RD01", hours=31)]  # the distributor books the return in
    book = ledger(DRUG, BATCH, lines, [give("C1", 150)])
    assert book.holders["C1"].stock == Decimal(0) and book.holders["C1"].returned == Decimal(40)
    assert book.holders["RD01"].stock == Decimal(340)  # 500 − 200 shipped + 40 back, counted once
    assert [(leg.from_code, leg.to_code, leg.is_return) for leg in book.legs] == [
        ("RS01", "RD01", False), ("RD01", "C1", False), ("C1", "RD01", True)]
    assert judge(book) == []  # stock exactly zero is not an excess
    (excess,) = judge(ledger(DRUG, BATCH, lines, [give("C1", 150), give("C1", 1, person=2)]))
    assert (excess.kind, excess.key, excess.facts["received"], excess.facts["returned"], excess.facts["dispensed"]) == (
        EXCESS, f"{DRUG}:{BATCH}:C1", "190", "40", "151")


def test_expiry_is_judged_on_the_china_day_and_an_unknown_batch_only_as_unknown():
    old = [move("receipt", "RD01", "C1", 10, by="C1", expiry=date(2025, 1, 31), batch="OLD")]
    on_the_day = datetime(2025, 1, 31, 15, 59, tzinfo=timezone.utc)  # 23:59 in China: still the 31st
    assert judge(ledger(DRUG, "OLD", old, [give("C1", 1, at=on_the_day, batch="OLD")])) == []
    (late,) = judge(ledger(DRUG, "OLD", old, [give("C1", 1, at=on_the_day + timedelta(minutes=1), batch="OLD")]))
    assert (late.kind, late.facts["expiry_date"], late.facts["dispenses"]) == (EXPIRED, "2025-01-31", 1)
    fakes = [give("C2", 2, batch="FAKE"), give("C2", 1, batch="FAKE", person=2)]
    (unknown,) = judge(ledger(DRUG, "FAKE", CHAIN, fakes))  # received by no one: not also an excess
    assert (unknown.kind, unknown.institution, unknown.facts) == (
        UNKNOWN, "C2", {"drug": DRUG, "batch": "FAKE", "dispenses": 2, "dispensed": "3"})
