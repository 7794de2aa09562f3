"""Disease surveillance, maternal and child coverage, exchange health: cube answers against pandas
over the OLTP rows and the declared population, on chDB and on a ClickHouse server."""
from __future__ import annotations

from . import oracle
from .checks import ask, compare
from .scenario import POPULATION

Y2026 = {"from": "2026-01-01", "to": "2026-11-30"}


def _population(year: int) -> dict[str, int]:
    rows = POPULATION[POPULATION["year"] == year]
    return dict(zip(rows["division_code"], rows["population"]))


def _reports(region):
    rows = oracle.plain_rows(region.engine, "record_disease_report",
                             "r.diagnosis_date AS diagnosed, r.disease_code AS disease, r.disease_class AS class_, "
                             "r.division AS residence", "diagnosed")
    return rows[rows["day"].between("2026-01-01", "2026-11-30")]


def test_cases_and_incidence_by_residence_district(mart, region):
    result = ask(mart, "diseases", {"measures": ["cases", "population.population"],
                                    "indicators": ["incidence_per_100k"], "group_by": ["residence.district"],
                                    "period": Y2026})
    assert set(result["sources"]) == {"diseases", "population"}
    expected = _reports(region).groupby("residence").agg(cases=("disease", "size"))
    expected["population.population"] = expected.index.map(_population(2026))
    expected["incidence_per_100k"] = expected["cases"] / expected["population.population"] * 100_000
    expected.index.names = ["residence.district"]
    compare(result, expected, small=expected["cases"] < 5, minimum=3)


def test_cases_by_class_and_district_per_quarter_and_incidence_per_disease(mart, region):
    reports = _reports(region)
    by_class = ask(mart, "diseases", {"measures": ["cases"], "group_by": ["disease.class", "institution.district"],
                                      "period": Y2026})
    expected = reports.groupby(["class_", "district"]).agg(cases=("disease", "size"))
    expected.index.names = ["disease.class", "institution.district"]
    compare(by_class, expected, small=expected["cases"] < 5, minimum=2)

    # the population is the same for every disease: it is repeated along the disease level
    per_disease = ask(mart, "diseases", {"indicators": ["incidence_per_100k"],
                                         "group_by": ["disease.disease", "institution.district"], "period": Y2026})
    expected = reports.groupby(["disease", "district"]).agg(cases=("disease", "size"))
    expected["incidence_per_100k"] = [cases / _population(2026)[district] * 100_000
                                      for (_, district), cases in expected["cases"].items()]
    expected.index.names = ["disease.disease", "institution.district"]
    compare(per_disease, expected, small=expected["cases"] < 5, minimum=1)


def test_cases_per_week_roll_up_to_the_year(mart, region):
    weekly = ask(mart, "diseases", {"measures": ["cases"], "group_by": ["date.week"], "period": Y2026})
    reports = _reports(region)
    expected = reports.groupby("week").agg(cases=("disease", "size"))
    expected.index.names = ["date.week"]
    compare(weekly, expected, small=expected["cases"] < 5, minimum=0)
    yearly = ask(mart, "diseases", {"measures": ["cases"], "period": Y2026})
    assert yearly["cells"] == [{"cases": len(reports), "suppressed": False}]


def test_antenatal_and_child_checkup_coverage(mart, region):
    period = {"from": "2026-10-01", "to": "2026-11-30"}
    maternal = oracle.plain_rows(region.engine, "record_maternal_checkup",
                                 "r.person_id AS person, r.checkup_type AS type, r.checkup_date AS on_", "on_")
    antenatal = maternal[maternal["type"] == "antenatal"]
    births = dict(zip(POPULATION[POPULATION["year"] == 2026]["division_code"],
                      POPULATION[POPULATION["year"] == 2026]["live_births"]))
    result = ask(mart, "maternal", {"measures": ["women", "antenatal_women", "antenatal_checkups"],
                                    "indicators": ["antenatal_coverage", "antenatal_visits_per_woman"],
                                    "group_by": ["institution.district"], "period": period})
    expected = maternal.groupby("district").agg(women=("person", "nunique"))
    expected["antenatal_women"] = antenatal.groupby("district")["person"].nunique()
    expected["antenatal_checkups"] = antenatal.groupby("district").size()
    expected["antenatal_coverage"] = expected["antenatal_women"] / expected.index.map(births) * 100
    expected["antenatal_visits_per_woman"] = expected["antenatal_checkups"] / expected["antenatal_women"]
    expected.index.names = ["institution.district"]
    compare(result, expected, small=(expected["women"] < 5) | (expected["antenatal_women"] < 5), minimum=1)

    children = oracle.plain_rows(region.engine, "record_child_checkup",
                                 "r.person_id AS person, r.age_months AS months, r.checkup_date AS on_", "on_")
    children = children[children["months"] < 84]
    under_7 = dict(zip(POPULATION[POPULATION["year"] == 2026]["division_code"],
                       POPULATION[POPULATION["year"] == 2026]["children_under_7"]))
    result = ask(mart, "child", {"measures": ["children", "checkups"], "indicators": ["child_checkup_coverage"],
                                 "group_by": ["institution.district"], "period": period})
    expected = children.groupby("district").agg(children=("person", "nunique"), checkups=("person", "size"))
    expected["child_checkup_coverage"] = expected["children"] / expected.index.map(under_7) * 100
    expected.index.names = ["institution.district"]
    compare(result, expected, small=expected["children"] < 5, minimum=1)


def test_exchange_timeliness_rejections_and_reporting_rate(mart, region):
    this_week = {"this": "week"}
    messages = oracle.messages(region.engine)
    result = ask(mart, "exchange", {"measures": ["messages", "rejected", "on_time", "timed"],
                                    "indicators": ["rejection_rate", "timeliness"],
                                    "group_by": ["institution.institution"], "period": this_week}, today=region.today)
    expected = messages.groupby("institution").agg(messages=("status", "size"), rejected=("rejected", "sum"),
                                                   on_time=("on_time", "sum"), timed=("timed", "sum"))
    expected["rejection_rate"] = expected["rejected"] / expected["messages"] * 100
    expected["timeliness"] = expected["on_time"] / expected["timed"] * 100
    expected.index.names = ["institution.institution"]
    compare(result, expected, minimum=6)
    assert {c["institution.institution"]: c["rejected"] for c in result["cells"]}["C03"] == 1
    assert 0 < {c["institution.institution"]: c["timeliness"] for c in result["cells"]}["C01"] < 100

    members = oracle.institutions(region.engine)
    members = members[(members["registry_status"] == "active") & (members["institution_kind"] != "bureau")]
    rate = ask(mart, "members", {"measures": ["members", "exchange.reporting_members"],
                                 "indicators": ["reporting_rate"], "group_by": ["institution.district"],
                                 "period": this_week}, today=region.today)
    expected = members.groupby("district").agg(members=("institution", "size"))
    reporting = messages.groupby("district")["institution"].nunique()
    expected["exchange.reporting_members"] = reporting.reindex(expected.index)
    expected["reporting_rate"] = expected["exchange.reporting_members"] / expected["members"] * 100
    expected.index.names = ["institution.district"]
    compare(rate, expected, minimum=3)


def test_which_clinics_have_not_sent_this_week(mart, region):
    silent = ask(mart, "members", {"measures": ["exchange.messages"], "group_by": ["institution.institution"],
                                   "filters": [{"level": "institution_type.kind", "in": ["clinic", "community_center"]}],
                                   "having": [{"name": "exchange.messages", "op": "=", "value": 0}],
                                   "period": {"this": "week"}}, today=region.today)
    assert [c["institution.institution"] for c in silent["cells"]] == ["C05"]
    # a week with no message from anyone: every clinic is silent
    quiet = ask(mart, "members", {"measures": ["exchange.messages"], "group_by": ["institution.institution"],
                                  "filters": [{"level": "institution_type.kind", "in": ["clinic"]}],
                                  "having": [{"name": "exchange.messages", "op": "=", "value": 0}],
                                  "period": {"from": "2024-01-01", "to": "2024-01-07"}})
    assert [c["institution.institution"] for c in quiet["cells"]] == ["C01", "C03", "C04", "C05"]
