"""The year of outpatient care: valid canonical documents that add up to the truth, winter busier."""
from __future__ import annotations

import csv
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

from region import Generated
from region.truth import read_indicators
from schemas.validation import validate

from .test_defects import final_documents

DOC = "{urn:hie:doc:v1}"
RESIDENT_ROOT = "2.16.156.10011.1.3"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_every_document_validates_and_the_truth_counts_them(region_dir):
    truth = read_indicators(region_dir / "truth" / "indicators.csv")
    with (region_dir / "truth" / "records.csv").open(encoding="utf-8") as source:
        persons = {row["record_id"]: row["person_id"] for row in csv.DictReader(source)
                   if row["kind"] == "OutpatientVisit"}
    with (region_dir / "people.csv").open(encoding="utf-8") as source:
        people = {row["person_id"]: row for row in csv.DictReader(source)}
    counted, charged, drugs, without_id = Counter(), Counter(), Counter(), 0
    for visit, document in final_documents(Generated.open(region_dir).documents()):  # corrections, cancellations
        if visit.kind != "OutpatientVisit":  # the other kinds have tests of their own
            continue
        assert validate(document).type_name == "OutpatientVisit"
        header = document.find(f"{DOC}header")
        record_id = header.find(f"{DOC}id").get("extension")
        institution = header.find(f"{DOC}author/{DOC}institution").get("code")
        month = document.find(f"{DOC}body/{DOC}visitTime").get("value")[:7]
        counted[institution, month] += 1
        charged[institution, month] += sum(Decimal(c.get("amount")) for c in document.iter(f"{DOC}charge"))
        drugs[institution, month] += sum(Decimal(c.get("amount")) for c in document.iter(f"{DOC}charge")
                                         if c.get("category") == "drugs")
        resident = header.find(f"{DOC}patient/{DOC}id[@root='{RESIDENT_ROOT}']")
        if resident is None:
            without_id += 1
        elif getattr(visit, "defect", "") == "resident_id.check_digit":  # kept, its check character broken
            true_id = people[persons[record_id]]["resident_id"]
            assert resident.get("extension")[:17] == true_id[:17] and resident.get("extension") != true_id
        else:  # the record's ID is its true person's
            assert resident.get("extension") == people[persons[record_id]]["resident_id"]
    assert set(counted) == set(truth)
    assert {cell: str(n) for cell, n in counted.items()} == {cell: row["visits"] for cell, row in truth.items()}
    assert {cell: str(total) for cell, total in charged.items()} == {cell: row["charges"] for cell, row in truth.items()}
    assert {cell: int(total * 100) for cell, total in drugs.items()} == {cell: int(row["drug_fen"])
                                                                         for cell, row in truth.items()}
    for cell, row in truth.items():  # the cube's indicators, recomputed from the documents
        assert Decimal(row["charge_per_visit"]) == _cents(charged[cell] / counted[cell])
        assert Decimal(row["drug_cost_per_visit"]) == _cents(drugs[cell] / counted[cell])
        assert Decimal(row["drug_share"]) == _cents(drugs[cell] / charged[cell] * 100)
    assert len(persons) >= sum(counted.values())
    assert 0.22 < without_id / len(persons) < 0.28


def test_every_care_giver_has_visits_every_month_and_hospitals_see_more(region_dir):
    truth = read_indicators(region_dir / "truth" / "indicators.csv")
    assert {institution for institution, _ in truth} == {"RH01", "RH02", *(f"RC{n:02d}" for n in range(1, 13))}
    assert min(int(row["visits"]) for row in truth.values()) >= 20  # above small-cell suppression
    assert int(truth["RH01", "2025-01"]["visits"]) > int(truth["RC01", "2025-01"]["visits"])
    hospital = Decimal(truth["RH01", "2025-01"]["charge_per_visit"])
    assert hospital > Decimal(truth["RC01", "2025-01"]["charge_per_visit"])


def test_winter_is_busier_and_more_respiratory_than_summer():
    generated = Generated.build(seed=4, size="small")
    generated.periods = [(2025, 1), (2025, 7)]
    visits, respiratory = Counter(), Counter()
    for member, _, month, planned in generated.member_months():
        visits[month] += len(planned)
        respiratory[month] += sum(1 for v in planned if v.diagnosis[0] == "J" or v.diagnosis == "R05")
    assert visits[1] > 1.25 * visits[7]
    assert respiratory[1] / visits[1] > 1.3 * respiratory[7] / visits[7]


def test_a_member_month_is_the_same_whatever_was_planned_before():
    generated = Generated.build(seed=4, size="small")
    whole = {(m.code, month): planned for m, _, month, planned in generated.member_months()}
    generated.periods = [(2025, 3)]
    alone = {(m.code, month): planned for m, _, month, planned in generated.member_months()}
    assert all(alone[key] == whole[key] for key in alone)
