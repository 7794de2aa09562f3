"""The residents: valid resident IDs, households sharing home and phone, records typed with variants."""
from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from datetime import date

from hub.mpi.resident_id import birth_date_of, is_valid_resident_id, sex_of
from region.people import age_band, generate_people, typed


def _people(region_dir):
    with (region_dir / "people.csv").open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def test_every_resident_id_is_valid_unique_and_agrees_with_birth_date_and_sex(region_dir):
    people = _people(region_dir)
    assert all(is_valid_resident_id(p["resident_id"]) for p in people)
    assert len({p["resident_id"] for p in people}) == len(people)
    assert all(birth_date_of(p["resident_id"]).isoformat() == p["birth_date"] and sex_of(p["resident_id"]) == p["sex"]
               for p in people)


def test_people_are_marked_synthetic(region_dir):
    people = _people(region_dir)
    assert all(p["mark"] == "SYNTHETIC" and p["phone"].startswith("100") and p["address"].startswith("合成")
               for p in people)


def test_households_share_address_phone_and_district(region_dir):
    homes = defaultdict(set)
    for p in _people(region_dir):
        homes[p["household"]].add((p["address"], p["phone"], p["division"]))
    assert all(len(home) == 1 for home in homes.values())
    sizes = defaultdict(int)
    for p in _people(region_dir):
        sizes[p["household"]] += 1
    assert sum(1 for n in sizes.values() if n > 1) > len(sizes) / 2  # most live with others
    assert len({phone for (_, phone, _), in homes.values()}) == len(homes)  # one phone per household


def test_a_quarter_of_records_lack_the_resident_id_and_some_names_are_mistyped():
    people = generate_people(count=400, seed=3, year=2025)
    rng = random.Random(5)
    records = [(person, typed(person, rng)) for person in people for _ in range(10)]
    missing = sum(1 for _, record in records if record.resident_id is None) / len(records)
    assert 0.23 < missing < 0.27
    typos = [(p, r) for p, r in records if r.name != p.name]
    assert 0.01 < len(typos) / len(records) < 0.05
    assert all(len(r.name) == len(p.name) and r.name[0] == p.name[0] for p, r in typos)  # one given-name character


def test_ages_are_those_of_a_chinese_city_and_households_hold_generations():
    people = generate_people(count=20_000, seed=9, year=2025)
    end = date(2025, 12, 31)
    bands = Counter(age_band(p.age_at(end)) for p in people)
    assert 0.02 < bands["0-4"] / len(people) < 0.06 and 0.12 < bands["65+"] / len(people) < 0.22
    assert 0.004 < sum(p.birth_date.year == 2025 for p in people) / len(people) < 0.012  # live births
    households = defaultdict(list)
    for p in people:
        households[p.household].append(p)
    for members in households.values():
        children = [p for p in members if p.age_at(end) < 18]
        if children:  # nobody under 18 lives alone, and a child carries an adult's surname
            adults = [p for p in members if p.age_at(end) >= 22]
            assert adults and all(any(a.name[0] == c.name[0] for a in adults) for c in children)
    assert 2.3 < len(people) / len(households) < 3.3  # persons per household
