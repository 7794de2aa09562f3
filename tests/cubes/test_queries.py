"""The query API of the cubes: periods, comparison with last year, region scope, drill-across rules,
refusals, and the SQL the compiler writes."""
from __future__ import annotations

import re
from datetime import date

import pytest

from olap.cubes import CUBES, CubeError, Scope, compile_part, parse_query, resolve_period
from olap.cubes.compile import Part
from olap.cubes.execute import _Plan
from olap.cubes.query import Filter, Period

from . import oracle
from .checks import AS_OF, WHOLE, ask


@pytest.mark.parametrize(("spec", "expected"), [
    ({"last": 12, "unit": "month", "as_of": "2026-12-01"}, ("2025-12-01", "2026-11-30")),
    ({"last": 12, "unit": "month", "as_of": "2026-03-15"}, ("2025-03-01", "2026-02-28")),
    ({"last": 2, "unit": "week", "as_of": "2026-12-03"}, ("2026-11-16", "2026-11-29")),
    ({"last": 1, "unit": "quarter", "as_of": "2026-02-10"}, ("2025-10-01", "2025-12-31")),
    ({"this": "year", "as_of": "2026-07-04"}, ("2026-01-01", "2026-07-04")),
    ({"this": "week", "as_of": "2026-12-03"}, ("2026-11-30", "2026-12-03")),
    ({"from": "2024-02-29", "to": "2024-03-01"}, ("2024-02-29", "2024-03-01")),
])
def test_relative_periods(spec, expected):
    period = resolve_period(spec, today=date(2000, 1, 1))
    assert (period.start.isoformat(), period.end.isoformat()) == expected
    assert Period(date(2024, 2, 29), date(2024, 3, 31)).shifted_years(-1) == Period(date(2023, 2, 28),
                                                                                  date(2023, 3, 31))


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"measures": ["visits"], "group_by": ["institution.ward"]}, "cube.level.unknown", "/group_by/0"),
    ({"measures": ["visitz"]}, "cube.measure.unknown", "/measures/0"),
    ({"indicators": ["nope"]}, "cube.indicator.unknown", "/indicators/0"),
    ({"measures": ["visits"], "filters": [{"level": "date.month", "in": ["2026-01"]}]}, "cube.level.unknown",
     "/filters/0"),
    ({"measures": ["visits"], "period": {"last": 0, "unit": "month"}}, "cube.query.invalid", "/period/last"),
    ({"measures": ["visits"], "top": True}, "cube.query.invalid", "/top"),
    ({"measures": ["visits"], "sort": [{"by": "total_fen"}]}, "cube.query.invalid", "/sort/0"),
    ({"measures": ["visits"], "compare": "year_ago", "period": WHOLE, "group_by": ["date.week"]},
     "cube.query.invalid", "/compare"),
    ({"measures": ["visits"], "drop": 1}, "cube.query.invalid", "/"),  # the unknown key is not echoed
    ({"measures": ["visits"], "labels": "yes"}, "cube.query.invalid", "/labels"),
    ({}, "cube.query.invalid", "/measures"),
])
def test_refusals_carry_a_code_and_the_field_never_the_value(body, code, field):
    with pytest.raises(CubeError) as caught:
        _Plan(parse_query("visits", body, today=AS_OF))
    assert (caught.value.code, caught.value.fields.get("field")) == (code, field)


def test_drill_across_needs_the_other_cube_to_have_the_level():
    with pytest.raises(CubeError) as caught:  # the population is not broken down by sex
        _Plan(parse_query("diseases", {"indicators": ["incidence_per_100k"], "group_by": ["sex.sex"]}, today=AS_OF))
    assert caught.value.code == "cube.drill_across"
    _Plan(parse_query("diseases", {"indicators": ["incidence_per_100k"], "group_by": ["disease.class"]}, today=AS_OF))


def test_this_year_against_last_year(mart, region):
    result = ask(mart, "visits", {"measures": ["visits"], "indicators": ["charge_per_visit"],
                                  "group_by": ["date.month"], "period": {"from": "2026-09-01", "to": "2026-11-30"},
                                  "compare": "year_ago"})
    assert result["compare_period"] == {"from": "2025-09-01", "to": "2025-11-30"}
    rows = oracle.visits(region.engine)
    for cell in result["cells"]:
        earlier = rows[rows["month"] == f"2025-{cell['date.month'][5:]}"]
        assert cell["year_ago"]["visits"] == len(earlier)
        assert cell["year_ago"]["charge_per_visit"] == pytest.approx(earlier["total_fen"].sum() / len(earlier) / 100)
    assert [c["date.month"] for c in result["cells"]] == ["2026-09", "2026-10", "2026-11"]


def test_a_bureau_sees_its_districts_and_a_member_itself(mart, region):
    def institutions(scope: Scope) -> set[str]:
        result = ask(mart, "visits", {"measures": ["visits"], "group_by": ["institution.institution"],
                                      "period": WHOLE}, scope=scope)
        return {c["institution.institution"] for c in result["cells"]}
    assert institutions(Scope()) == {"H01", "C01", "C02", "H02", "C03"}
    assert institutions(Scope(districts=frozenset({"330106"}))) == {"H01", "C01", "C02"}
    assert institutions(Scope(districts=frozenset({"330106"}), institutions=frozenset({"C01"}))) == {"C01"}
    assert institutions(Scope(districts=frozenset())) == set()
    population = ask(mart, "population", {"measures": ["population"], "group_by": ["institution.district"],
                                          "period": WHOLE}, scope=Scope(districts=frozenset({"330105"})))
    assert population["cells"] == [{"institution.district": "330105", "population": 1_120_000, "suppressed": False}]


def test_the_compiler_writes_exact_reads_in_the_common_dialect():
    part = Part(CUBES["prescriptions"], ("institution.district", "drug.category"),
                ("antibiotic_prescriptions", "lines"), (Filter("drug.antibiotic", ("1",)),),
                Period(date(2026, 1, 1), date(2026, 1, 20)))
    local = compile_part(part, scope=Scope(districts=frozenset({"330106"})))
    assert local.source == "fact_medication"
    assert "FINAL" in local.sql and " OVER " not in local.sql and "GLOBAL" not in local.sql
    inner = re.search(r"FROM fact_medication FINAL WHERE (.*?)\) WHERE deleted = 0", local.sql).group(1)
    assert "kind" not in inner and "date >=" in inner  # only identity columns inside FINAL
    assert local.sql.count("ANY LEFT JOIN") == 2  # one nesting per dimension: 18.16 joins once per SELECT
    on_cluster = compile_part(part, distributed=True)
    assert on_cluster.sql.count("GLOBAL ANY LEFT JOIN") == 2 and "drug_code GLOBAL IN" in on_cluster.sql
    whole_months = compile_part(Part(CUBES["prescriptions"], ("drug.drug",), ("lines",), (),
                                     Period(date(2026, 1, 1), date(2026, 1, 31))))
    assert whole_months.source == "rollup_medication_drug_month"  # the city's drugs: no institution needed
    scoped = compile_part(Part(CUBES["prescriptions"], ("drug.drug",), ("lines",), (),
                               Period(date(2026, 1, 1), date(2026, 1, 31))), scope=Scope(districts=frozenset({"330106"})))
    assert scoped.source == "rollup_medication_institution_month"


def test_labels_name_the_codes_of_the_levels_that_have_names(mart, region):
    from sqlalchemy import select

    from hub.registry.models import Institution
    from olap.dimensions import division_dimension, drug_dimension

    from .scenario import BUSY, DRUGS

    body = {"measures": ["visits"], "group_by": ["institution.district", "institution.institution", "sex.sex"],
            "period": WHOLE, "labels": True}
    labels = ask(mart, "visits", body)["labels"]
    assert set(labels) == {"institution.district", "institution.institution"}  # sex codes have no names here
    divisions = division_dimension().set_index("code")["name"]
    assert labels["institution.district"] == {code: divisions[code] for code in ("330105", "330106")}
    with region.store.sessions() as session:
        names = dict(session.execute(select(Institution.code, Institution.name)).all())
    assert labels["institution.institution"] == {code: names[code] for code in BUSY}
    drugs = ask(mart, "prescriptions", {"measures": ["lines"], "group_by": ["drug.drug"], "period": WHOLE,
                                        "labels": True})["labels"]["drug.drug"]
    assert drugs == {code: drug_dimension().set_index("code")["name"][code] for code in DRUGS}
    assert "labels" not in ask(mart, "visits", {"measures": ["visits"], "period": WHOLE})  # only when asked


def test_district_weeks_read_the_district_rollup_without_a_join():
    weeks = Period(date(2026, 9, 7), date(2026, 11, 29))  # Monday to Sunday
    part = Part(CUBES["visits"], ("institution.district", "date.week"), ("visits", "drug_fen"), (), weeks)
    compiled = compile_part(part)
    assert compiled.source == "rollup_visits_district_week" and "JOIN" not in compiled.sql
    scoped = compile_part(part, scope=Scope(districts=frozenset({"330106"})))
    assert scoped.source == "rollup_visits_district_week" and "district_code IN" in scoped.sql
    member = compile_part(part, scope=Scope(districts=frozenset({"330106"}), institutions=frozenset({"C01"})))
    assert member.source == "rollup_visits_institution_week"  # an institution is not in the district rollup
    by_city = compile_part(Part(CUBES["visits"], ("institution.city", "date.week"), ("visits",), (), weeks))
    assert by_city.source == "rollup_visits_institution_week" and "JOIN" in by_city.sql
