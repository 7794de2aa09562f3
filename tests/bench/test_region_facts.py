"""The cube and ETL benches' facts are a scaled copy of the region's visits (bench/region_facts.py): the
copies keep the region's months, institutions' sizes and charges, and the engines make the same copy."""
from __future__ import annotations

import pandas as pd
import pytest

from bench.cubes import insert_visits
from bench.region_facts import Scale, base_visits, institutions, replicate

SEED = 11


@pytest.fixture(scope="module")
def base():
    return base_visits(SEED, size="small", processes=1)


def test_the_base_rows_are_the_regions_visits(base):
    from region import Generated

    generated = Generated.build(seed=SEED, size="small")
    visits = [v for _, _, _, vs in generated.member_months() for v in vs]
    assert len(base) == len(visits) > 4000
    assert base["i"].tolist() == list(range(len(base)))
    assert sorted(base["total_fen"].tolist()) == sorted(v.total_fen for v in visits)
    assert base["institution_index"].nunique() == 14
    assert set(base["kind"]) == {"outpatient", "emergency"}


def test_a_scaled_copy_keeps_the_regions_distributions(base):
    rows = int(len(base) * 4.5)  # two institution groups × two years, and a fifth copy sampled
    facts = replicate(base, rows)
    scale = Scale(len(base), rows)
    assert len(facts) == rows and facts["n"].tolist() == list(range(rows))
    assert (scale.copies, scale.groups, scale.institutions) == (5, 3, 42)
    month = facts["date"].dt.month
    first = facts[facts["n"] < len(base)]  # copy 0: the region itself, in 2025
    assert (first["date"].dt.year == 2025).all()
    second = facts[(facts["n"] >= len(base)) & (facts["n"] < 2 * len(base))]  # the same visits a year on
    assert (second["date"].dt.year == 2026).all()
    assert (second["date"].dt.strftime("%m-%d").values == first["date"].dt.strftime("%m-%d").values).all()
    assert (second["total_fen"].values == first["total_fen"].values).all()
    # each institution group's members keep the sizes of the region's members
    by_member = first.groupby("institution_index").size()
    group_one_2025 = facts[(facts["n"] >= 2 * len(base)) & (facts["n"] < 3 * len(base))]
    assert (group_one_2025.groupby("institution_index").size() == by_member).all()
    assert set(group_one_2025["institution_code"]) == {f"I{1014 + i}" for i in range(14)}
    assert not set(group_one_2025["person_key"]) & set(first["person_key"])  # another group's residents
    assert set(second["person_key"]) == set(first["person_key"])             # the same residents a year on
    # the sampled fifth copy is a uniform sample, not the year's first weeks
    last = facts[facts["n"] >= 4 * len(base)]
    assert len(last) == rows - 4 * len(base) and last["date"].dt.month.nunique() == month[:len(base)].nunique()
    table = institutions(scale, SEED)
    assert len(table) == 42 and set(facts["institution_code"]) <= set(table["institution_code"])
    assert table.groupby("district_code").size().max() <= 10  # the groups spread over the city's districts


def test_chdb_makes_the_same_copy_as_pandas(base, chdb_olap):
    from olap import apply_schema

    rows = int(len(base) * 2.5)
    apply_schema(chdb_olap)
    insert_visits(chdb_olap, rows, base)
    got = chdb_olap.query_df(
        "SELECT institution_code, toString(date) AS day, count() AS visits, sum(total_fen) AS total, "
        "sum(drug_fen) AS drugs, uniqExact(person_key) AS persons FROM fact_outpatient_visit "
        "GROUP BY institution_code, day ORDER BY institution_code, day")
    facts = replicate(base, rows)
    facts["day"] = facts["date"].dt.strftime("%Y-%m-%d")
    want = facts.groupby(["institution_code", "day"]).agg(
        visits=("n", "size"), total=("total_fen", "sum"), drugs=("drug_fen", "sum"),
        persons=("person_key", "nunique")).reset_index()
    pd.testing.assert_frame_equal(got.astype({c: "int64" for c in ("visits", "total", "drugs", "persons")}),
                                  want.astype({c: "int64" for c in ("visits", "total", "drugs", "persons")}),
                                  check_dtype=False)
    lines = chdb_olap.query_df("SELECT count() AS n FROM fact_medication")["n"].iloc[0]
    assert int(lines) == rows // 2
