"""The drug anomalies judged on the synthetic region (region/drugs.py, docs/region.md) against its truth:
the counterfeit's centre flagged for its fake batch, nothing else (no false alarm) on the region, nothing
at all once the fake lines are taken out; the recall's affected institutions and patients are the truth's
receivers and patients. Pure: the region's planned events go straight into the ledger, no hub."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import lru_cache

from hub.workflows.drugs.ledger import UNKNOWN, DispenseLine, MovementLine, judge, ledger

SEED = 20251205


@lru_cache(maxsize=2)
def region_lines(seed: int, size: str) -> tuple[list[MovementLine], list[tuple[DispenseLine, bool]], object]:
    """Every movement line and dispense line (with its truth: counterfeit or not) the region plans."""
    from region import Generated
    from region.events import plan_all

    generated = Generated.build(seed=seed, size=size)
    movements, dispenses, truth = [], [], None
    from region.drugs import BatchTruth

    truth = BatchTruth()
    for _member, _year, _month, events in plan_all(generated.region, generated.pools(), seed=seed,
                                                   periods=generated.periods):
        for event in events:
            if event.kind == "DrugMovement":
                truth.add(event)
                movements += [MovementLine(lot.drug, lot.batch, event.movement, event.source[0], event.source[2],
                                           event.target[0], event.target[2], Decimal(lot.quantity), lot.expiry,
                                           event.time, event.institution, event.record_id) for lot in event.lots]
            elif event.kind == "Dispense":
                truth.add(event)
                dispenses += [(DispenseLine(line.drug, line.batch, event.institution, Decimal(line.quantity),
                                            event.time, index, event.person_id), line.counterfeit)
                              for index, line in enumerate(event.lines)]
    return movements, dispenses, truth


def flagged(movements, dispenses) -> set[tuple[str, str, str, str]]:
    """(kind, drug, batch, institution) of every anomaly over every batch the lines name."""
    moved, given = defaultdict(list), defaultdict(list)
    for line in movements:
        moved[(line.drug, line.batch)].append(line)
    for line in dispenses:
        given[(line.drug, line.batch)].append(line)
    found = set()
    for drug, batch in set(moved) | set(given):
        for anomaly in judge(ledger(drug, batch, moved[(drug, batch)], given[(drug, batch)])):
            found.add((anomaly.kind, anomaly.drug, anomaly.batch, anomaly.institution))
    return found


def test_the_counterfeit_centre_is_flagged_and_nothing_else():
    movements, dispenses, truth = region_lines(SEED, "small")
    fake = truth.files()["counterfeit.json"][1]
    assert fake["batch"] is not None and fake["dispensed"] > 0
    assert flagged(movements, [line for line, _ in dispenses]) == {
        (UNKNOWN, fake["drug"], fake["batch"], fake["institution"])}  # no false alarm
    assert flagged(movements, [line for line, counterfeit in dispenses if not counterfeit]) == set()  # a clean region


def test_the_recall_reaches_the_truths_receivers_and_patients():
    movements, dispenses, truth = region_lines(SEED, "small")
    recalled = truth.files()["recall.json"][1]
    book = ledger(recalled["drug"], recalled["batch"], movements, [line for line, _ in dispenses])
    receivers = {code for code, holding in book.holders.items() if holding.received > 0}
    assert receivers == {r["institution"] for r in recalled["receivers"]} | {"RD01"}  # and the distributor
    assert {(line.institution, line.person_id) for line in book.dispenses} == {
        (p["institution"], p["person_id"]) for p in recalled["patients"]}
    assert sum(line.quantity for line in book.dispenses) == recalled["dispensed"]
    assert all(h.stock is None or h.stock >= 0 for h in book.holders.values())
