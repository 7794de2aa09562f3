"""bench.mpi measures on the region (bench/region_records.py): its residents, and the patient block of each
visit's document as the hub reads it, in arrival order, with the true person of each."""
from __future__ import annotations

from bench.mpi import evaluate, speed
from bench.region_records import read_population


def test_the_records_are_the_regions_visits_as_members_typed_them(tmp_path):
    population = read_population(600, seed=11, months=1, processes=1)
    records = population.records
    assert len(population.persons) == 600 and population.mark == "SYNTHETIC"
    assert len(records) > 200 and {r.truth for r in records} <= {p.id for p in population.persons}
    assert len({r.truth for r in records}) < len(records)  # people come back
    assert {r.institution for r in records} >= {"RH01", "RH02"}
    kinds = [{kind for kind, _, _ in r.traits.identifiers} for r in records]
    assert all("outpatient_no" in k for k in kinds)
    assert 0.1 < sum("resident_id" not in k for k in kinds) / len(records) < 0.4  # about a quarter typed without
    truth = {p.id: p for p in population.persons}
    assert all(r.traits.division in (None, truth[r.truth].division) for r in records)  # none without the address
    result = evaluate(f"sqlite:///{tmp_path}/quality.db", population)
    assert result["persons"] == 600 and result["records"] == len(records)
    assert result["all"]["precision"] >= 0.99 and result["all"]["recall"] >= 0.9, result["all"]
    speeds = speed(population, tmp_path, batch=100)
    assert speeds["known_resident_id"]["records"] + speeds["new_person_with_resident_id"]["records"] == len(records)
    assert speeds["no_resident_id"]["decisions"].get("identifier", 0) == 0


def test_the_records_come_in_arrival_order_the_same_every_time():
    one = read_population(300, seed=5, months=2, processes=1)
    two = read_population(300, seed=5, months=2, processes=2)
    assert [(r.truth, r.institution, r.traits) for r in one.records] == \
        [(r.truth, r.institution, r.traits) for r in two.records]
