"""Prescriptions follow the visits and add up to their drug charges; dispenses follow the prescriptions;
every document validates and the truth is what the documents say, cell by cell."""
from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from region import Generated, Visit, plan
from region.drugs import receipt_time
from region.medication import is_antibiotic
from schemas.validation import validate
from tests.support.migrated import migrated_engine

DOC = "{urn:hie:doc:v1}"
KINDS = ("Prescription", "Dispense")
MINE = (*KINDS, "LabReport", "Referral", "DrugMovement")  # medication, labs, referrals, drugs


@pytest.fixture(scope="module")
def documents(region_dir):
    generated = Generated.open(region_dir)  # only this kind is rendered
    return [(event, event.render(generated.region)) for *_, events in generated.events() for event in events
            if event.kind in KINDS]


def _read(path):
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_every_document_validates_and_the_truth_is_what_they_say(region_dir, documents):
    cells: dict[tuple[str, str], Counter] = {}
    for event, document in documents:
        assert validate(document).type_name == event.kind
        header, body = document.find(f"{DOC}header"), document.find(f"{DOC}body")
        assert header.find(f"{DOC}id").get("extension") == event.record_id
        institution = header.find(f"{DOC}author/{DOC}institution").get("code")
        time = body.find(f"{DOC}{'prescriptionTime' if event.kind == 'Prescription' else 'dispenseTime'}").get("value")
        cell = cells.setdefault((institution, time[:7]), Counter())
        items = body.findall(f"{DOC}item")
        drugs = [item.find(f"{DOC}drug").get("code") for item in items]
        prefix = "prescription" if event.kind == "Prescription" else "dispense"
        cell[f"{prefix}s"] += 1
        cell[f"{prefix}_lines"] += len(items)
        cell[f"{prefix}_fen"] += int(sum(Decimal(item.findtext(f"{DOC}amount")) for item in items) * 100)
        if event.kind == "Prescription":
            cell["antibiotic_prescriptions"] += any(is_antibiotic(drug) for drug in drugs)
        else:
            assert all(item.findtext(f"{DOC}batchNumber") for item in items)
    truth = {(row["institution"], row["month"]): row for row in _read(region_dir / "truth" / "medication.csv")}
    assert set(truth) == set(cells)
    for key, cell in cells.items():
        row = truth[key]
        for column in ("prescriptions", "prescription_lines", "prescription_fen", "antibiotic_prescriptions",
                       "dispenses", "dispense_lines", "dispense_fen"):
            assert int(row[column]) == cell[column], (key, column)
        rate = Decimal(cell["antibiotic_prescriptions"] * 100) / cell["prescriptions"]
        assert Decimal(row["antibiotic_rate"]) == rate.quantize(Decimal("0.01"), ROUND_HALF_UP)
    records = {row["record_id"]: row for row in _read(region_dir / "truth" / "records.csv") if row["kind"] in KINDS}
    assert {event.record_id: event.person_id for event, _ in documents} == \
        {record_id: row["person_id"] for record_id, row in records.items()}


def test_prescriptions_follow_the_visits_and_dispenses_the_prescriptions():
    generated = Generated.build(seed=5, size="small")
    visits = prescriptions = dispenses = 0
    for member, year, month, events in generated.events():
        charges = Counter((e.person_id, e.drug_fen) for e in events if type(e) is Visit)  # not defects'
        written = {e.record_id: e for e in events if e.kind == "Prescription"}
        visits += sum(charges.values())
        prescriptions += len(written)
        for rx in written.values():  # a visit of the same person paid exactly the lines' amounts for drugs
            assert charges[rx.person_id, rx.amount_fen] > 0
            assert 1 <= len(rx.lines) <= 3 and len({line.drug for line in rx.lines}) == len(rx.lines)
        for dispense in (e for e in events if e.kind == "Dispense"):
            dispenses += 1
            rx = written[dispense.prescription]
            assert (dispense.person_id, dispense.month) == (rx.person_id, rx.month)
            assert [(l.drug, l.quantity, l.amount_fen) for l in dispense.lines] == \
                [(l.drug, l.quantity, l.amount_fen) for l in rx.lines]
            assert dispense.time >= max(rx.time, receipt_time(generated.region, member.code, year, month))
    assert 0.86 < prescriptions / visits < 0.94
    assert 0.89 < dispenses / prescriptions < 0.97


def test_a_member_month_plans_the_same_alone():
    generated = Generated.build(seed=5, size="small")
    pools = generated.pools()
    whole = {(member.code, month): events for member, _, month, events in generated.events(pools)}
    for code, month in (("RH01", 2), ("RC05", 3), ("RD01", 1)):
        alone = plan(generated.region, pools, generated.region.institution(code), seed=5, year=2025, month=month)
        assert alone == whole[code, month]
        assert [e.render(generated.region).find(f"{DOC}header/{DOC}id").get("extension") for e in alone] == \
            [e.record_id for e in whole[code, month]]


def test_hospitals_prescribe_more_per_visit_and_winter_more_antibiotics_than_summer(region_dir):
    truth = {(row["institution"], row["month"]): row for row in _read(region_dir / "truth" / "medication.csv")}
    hospital, centre = truth["RH01", "2025-01"], truth["RC01", "2025-01"]
    assert int(hospital["prescription_fen"]) / int(hospital["prescriptions"]) > \
        2 * int(centre["prescription_fen"]) / int(centre["prescriptions"])
    generated = Generated.build(seed=4, size="small")
    generated.periods = [(2025, 1), (2025, 7)]
    antibiotics = Counter()
    for _, _, month, events in generated.events():
        for rx in (e for e in events if e.kind == "Prescription"):
            antibiotics[month] += any(is_antibiotic(line.drug) for line in rx.lines)
            antibiotics[month, "all"] += 1
    january, july = antibiotics[1] / antibiotics[1, "all"], antibiotics[7] / antibiotics[7, "all"]
    assert 0.1 < july < january * 0.85 and january < 0.4, (january, july)


@pytest.mark.slow  # about 8 s: the records stage, the ETL and chDB
def test_after_a_load_the_cubes_say_what_the_truth_says(request, region_dir, tmp_path, chdb_olap):
    """Two members' January (a centre, a hospital) through the real records stage and ETL: the
    prescriptions and referrals cubes and the lab and drug-movement facts equal the truth's cells."""
    from types import SimpleNamespace

    from hub.registry.actor import HUB_OPERATOR
    from hub.registry.importing import import_entries, read_entries
    from hub.store.db import session_factory, transaction
    from tests.cubes.checks import ask, fill_mart
    from tests.support.inbox import Store

    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    with transaction(store.sessions) as session:
        import_entries(session, actor=HUB_OPERATOR,
                       entries=read_entries((region_dir / "registry.json").read_bytes(), suffix=".json"))
    generated, members = Generated.open(region_dir), ("RC01", "RH02")
    for code in members:
        events = plan(generated.region, generated.pools(), generated.region.institution(code), seed=generated.seed,
                      year=2025, month=1)
        documents = [e.render(generated.region) for e in events if e.kind in MINE]
        for start in range(0, len(documents), 200):
            store.deliver(*documents[start:start + 200], member=code)
    store.process()
    fill_mart(chdb_olap, SimpleNamespace(store=store, engine=engine, today=date(2025, 2, 1)))
    engine.dispose()
    january = {"from": "2025-01-01", "to": "2025-01-31"}
    group = ["institution.institution", "date.month"]
    answer = ask(chdb_olap, "prescriptions", {"measures": ["prescriptions", "lines", "amount_fen",
                                                           "antibiotic_prescriptions"],
                                              "indicators": ["antibiotic_rate"], "group_by": group, "period": january})
    truth = {row["institution"]: row for row in _read(region_dir / "truth" / "medication.csv")
             if row["month"] == "2025-01"}
    assert {cell["institution.institution"]: (cell["prescriptions"], cell["lines"], cell["amount_fen"],
                                              cell["antibiotic_prescriptions"], round(cell["antibiotic_rate"], 2))
            for cell in answer["cells"]} == \
        {code: (int(truth[code]["prescriptions"]), int(truth[code]["prescription_lines"]),
                int(truth[code]["prescription_fen"]), int(truth[code]["antibiotic_prescriptions"]),
                float(truth[code]["antibiotic_rate"])) for code in members}
    referred = ask(chdb_olap, "referrals", {"measures": ["referrals"], "group_by": ["institution.institution",
                                                                                   "target.institution"],
                                            "period": january})
    expected = {(row["institution"], row["to_institution"]): int(row["referrals"])
                for row in _read(region_dir / "truth" / "referrals.csv")
                if row["month"] == "2025-01" and row["institution"] in members}
    cells = {(c["institution.institution"], c["target.institution"]): c["referrals"] for c in referred["cells"]}
    assert set(cells) == set(expected) and expected
    assert all(cells[key] == n or (cells[key] is None and n < 5) for key, n in expected.items())
    facts = chdb_olap.query_df("SELECT institution_code AS code, count() AS results, "
                               "sum(is_abnormal) AS abnormal FROM fact_lab_test FINAL WHERE deleted = 0 "
                               "GROUP BY institution_code")
    labs = {row["institution"]: row for row in _read(region_dir / "truth" / "labs.csv") if row["month"] == "2025-01"}
    assert {r.code: (int(r.results), int(r.abnormal)) for r in facts.itertuples()} == \
        {code: (int(labs[code]["results"]), int(labs[code]["abnormal_results"])) for code in members}
    moved = chdb_olap.query_df("SELECT institution_code AS code, sum(quantity) AS units, sum(amount_fen) AS fen "
                               "FROM fact_drug_movement FINAL WHERE deleted = 0 GROUP BY institution_code")
    movements = {row["institution"]: row for row in _read(region_dir / "truth" / "drug_movements.csv")
                 if row["month"] == "2025-01"}
    assert {r.code: (int(r.units), int(r.fen)) for r in moved.itertuples()} == \
        {code: (int(movements[code]["quantity"]), int(movements[code]["amount_fen"])) for code in members}
