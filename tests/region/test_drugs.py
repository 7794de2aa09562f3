"""Drug movements: the distributor's shipments are what the care givers receive, the dispenses draw on
what was received, one recalled batch reaches patients, one counterfeit batch was never shipped."""
from __future__ import annotations

import csv
import json
from collections import Counter
from decimal import Decimal

import pytest

from region import Generated, plan
from region.drugs import RECALL, batch_number
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"


@pytest.fixture(scope="module")
def traced(region_dir):
    """Every DrugMovement and Dispense document, read back: (movements, dispenses)."""
    movements, dispenses = [], []
    generated = Generated.open(region_dir)
    for event in (event for *_, events in generated.events() for event in events):
        if event.kind not in ("DrugMovement", "Dispense"):
            continue
        document = event.render(generated.region)
        assert validate(document).type_name == event.kind
        body = document.find(f"{DOC}body")
        author = document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")
        items = [(item.find(f"{DOC}drug").get("code"), item.findtext(f"{DOC}batchNumber"),
                  Decimal(item.findtext(f"{DOC}quantity")), Decimal(item.findtext(f"{DOC}amount")))
                 for item in body.findall(f"{DOC}item")]
        if event.kind == "DrugMovement":
            movements.append({"author": author, "type": body.find(f"{DOC}movementType").get("code"),
                              "time": body.find(f"{DOC}movementTime").get("value"),
                              "from": body.find(f"{DOC}from").attrib, "to": body.find(f"{DOC}to").attrib,
                              "items": items, "record_id": event.record_id})
        else:
            dispenses.append({"author": author, "time": body.find(f"{DOC}dispenseTime").get("value"), "items": items,
                              "record_id": event.record_id, "person_id": event.person_id})
    return movements, dispenses


def _read(path):
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_every_movement_validates_and_the_movement_truth_is_what_they_say(region_dir, traced):
    movements, _ = traced
    cells = Counter()
    for movement in movements:
        key = (movement["author"], movement["time"][:7], movement["type"])
        cells[key + ("documents",)] += 1
        cells[key + ("lines",)] += len(movement["items"])
        cells[key + ("quantity",)] += sum(quantity for _, _, quantity, _ in movement["items"])
        cells[key + ("amount_fen",)] += sum(amount for *_, amount in movement["items"]) * 100
    rows = _read(region_dir / "truth" / "drug_movements.csv")
    assert {(row["institution"], row["month"], row["movement_type"]) for row in rows} == \
        {key[:3] for key in cells}
    for row in rows:
        key = (row["institution"], row["month"], row["movement_type"])
        for column in ("documents", "lines", "quantity", "amount_fen"):
            assert Decimal(row[column]) == cells[key + (column,)], (key, column)
    members = {movement["author"] for movement in movements}
    assert members == {"RD01", "RH01", "RH02", *(f"RC{n:02d}" for n in range(1, 13))}


def test_what_the_distributor_ships_each_care_giver_receives_and_dispenses_only_from_it(region_dir, traced):
    movements, dispenses = traced
    shipped, received, supplied, arrived = Counter(), Counter(), Counter(), {}
    for movement in movements:
        for drug, batch, quantity, _ in movement["items"]:
            if movement["type"] == "transfer":
                assert (movement["author"], movement["from"]["kind"]) == ("RD01", "distributor")
                shipped[batch, movement["to"]["code"]] += quantity
            elif movement["author"] == "RD01":
                assert movement["from"]["kind"] == "supplier"
                supplied[batch] += quantity
            else:
                assert (movement["from"]["code"], movement["to"]["code"]) == ("RD01", movement["author"])
                received[batch, movement["author"]] += quantity
                arrived[batch, movement["author"]] = movement["time"]
    assert shipped == received and len(shipped) > 1000
    for batch in supplied:  # the distributor ships no more than it got
        assert sum(q for (b, _), q in shipped.items() if b == batch) <= supplied[batch]
    counterfeit = json.loads((region_dir / "truth" / "counterfeit.json").read_text(encoding="utf-8"))
    dispensed, strays = Counter(), set()
    for dispense in dispenses:
        for drug, batch, quantity, _ in dispense["items"]:
            if (batch, dispense["author"]) not in received:
                strays.add((batch, dispense["author"]))
                continue
            dispensed[batch, dispense["author"]] += quantity
            assert dispense["time"][:7] == arrived[batch, dispense["author"]][:7]
            assert dispense["time"] >= arrived[batch, dispense["author"]]  # same offset: text order is time order
    assert strays == {(counterfeit["batch"], counterfeit["institution"])}
    assert all(dispensed[key] <= received[key] for key in dispensed)
    rows = _read(region_dir / "truth" / "drug_batches.csv")
    legs = {(row["batch"], row["to_code"]): row for row in rows if row["from_code"] == "RD01"}
    assert {key: Decimal(row["shipped"]) for key, row in legs.items()} == dict(shipped)
    assert {key: Decimal(row["received"]) for key, row in legs.items()} == dict(received)
    assert {key: Decimal(row["dispensed"]) for key, row in legs.items() if row["dispensed"] != "0"} == dict(dispensed)


def test_the_recalled_batch_reached_every_care_giver_and_its_patients_are_named(region_dir, traced):
    movements, dispenses = traced
    recall = json.loads((region_dir / "truth" / "recall.json").read_text(encoding="utf-8"))
    assert recall["batch"] == batch_number(11, RECALL, 2025, 2) and recall["month"] == "2025-02"  # the second month
    receipts = {m["author"]: m["record_id"] for m in movements if m["type"] == "receipt"
                and any(batch == recall["batch"] for _, batch, _, _ in m["items"])}
    assert {r["institution"]: r["receipt"] for r in recall["receivers"]} == receipts
    assert len(receipts) == 1 + 14  # the distributor from its supplier, and every care giver
    patients = sorted((d["record_id"], d["person_id"]) for d in dispenses
                      if any(batch == recall["batch"] for _, batch, _, _ in d["items"]))
    assert sorted((p["dispense"], p["person_id"]) for p in recall["patients"]) == patients
    assert len({person for _, person in patients}) > 30


def test_the_counterfeit_batch_was_never_shipped_nor_received_by_anyone(region_dir, traced):
    movements, dispenses = traced
    counterfeit = json.loads((region_dir / "truth" / "counterfeit.json").read_text(encoding="utf-8"))
    batch = counterfeit["batch"]
    assert not any(b == batch for m in movements for _, b, _, _ in m["items"])
    named = [d for d in dispenses if any(b == batch for _, b, _, _ in d["items"])]
    assert {d["author"] for d in named} == {counterfeit["institution"]}
    assert counterfeit["institution"] in {"RC01", "RC03", "RC05", "RC07", "RC09", "RC11"}  # a community centre
    assert sorted(d["record_id"] for d in named) == [p["dispense"] for p in counterfeit["dispenses"]]
    assert counterfeit["drug"] == "YP0012" and counterfeit["months"]
    assert set(counterfeit["months"]) <= {"2025-01", "2025-02", "2025-03"}
    real = [d for d in dispenses if d["author"] == counterfeit["institution"] and d not in named
            and any(drug == "YP0012" for drug, *_ in d["items"])]
    assert real and named  # the fake is mixed into the centre's real stock
    assert batch not in {row["batch"] for row in _read(region_dir / "truth" / "drug_batches.csv")}


def test_batch_numbers_follow_seed_drug_and_month_and_the_distributor_month_replans_alone():
    assert batch_number(11, "YP0012", 2025, 3) == batch_number(11, "YP0012", 2025, 3)
    assert batch_number(11, "YP0012", 2025, 3)[:7] == "AML2503"
    numbers = {batch_number(seed, "YP0012", 2025, 3) for seed in range(10)}
    assert len(numbers) > 5
    generated = Generated.build(seed=5, size="small")
    pools = generated.pools()
    whole = {(member.code, month): events for member, _, month, events in generated.events(pools)}
    distributor = generated.region.institution("RD01")
    alone = plan(generated.region, pools, distributor, seed=5, year=2025, month=2)
    assert alone == whole["RD01", 2] and len(alone) == 2 + 14


def test_a_region_of_any_months_has_its_recall_and_its_counterfeit(tmp_path):
    """The demo's region ends last month: September to November has a recall and a counterfeit too."""
    from region import generate

    generate(tmp_path, seed=3, size="small", end=(2026, 11))
    recall = json.loads((tmp_path / "truth" / "recall.json").read_text(encoding="utf-8"))
    counterfeit = json.loads((tmp_path / "truth" / "counterfeit.json").read_text(encoding="utf-8"))
    assert recall["month"] == "2026-10" and recall["patients"] and len(recall["receivers"]) == 15
    batches = (tmp_path / "truth" / "drug_batches.csv").read_text(encoding="utf-8")
    assert counterfeit["dispenses"] and counterfeit["batch"] not in batches
    assert {d["date"][:7] for d in counterfeit["dispenses"]} <= {"2026-09", "2026-10", "2026-11"}
