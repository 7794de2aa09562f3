"""The MPI against a small SYNTHETIC population with known truth (bench/mpi.py runs the big one)."""
from __future__ import annotations

from bench.mpi import evaluate

try:
    from support.population import generate
except ImportError:
    from tests.support.population import generate


def test_precision_and_recall_on_1000_synthetic_persons(tmp_path):
    population = generate(1000, seed=11)
    assert population.mark == "SYNTHETIC" and len(population.records) >= 3000
    result = evaluate(f"sqlite:///{tmp_path}/eval.db", population)
    assert result["all"]["precision"] >= 0.99, result["all"]
    assert result["all"]["recall"] >= 0.97, result["all"]
    assert result["auto_links_into_another_persons_cluster"] == 0
    assert result["without_resident_id"]["precision"] >= 0.99


def test_population_is_deterministic_and_synthetic():
    one, two = generate(50, seed=3), generate(50, seed=3)
    assert [(r.truth, r.traits) for r in one.records] == [(r.truth, r.traits) for r in two.records]
    assert all(p.phone.startswith("100") for p in one.persons)
    from hub.mpi import is_valid_resident_id
    assert all(is_valid_resident_id(p.resident_id) for p in one.persons)
