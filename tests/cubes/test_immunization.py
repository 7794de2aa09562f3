"""The immunization cube: doses and children vaccinated by district, institution, vaccine and dose
against pandas over the OLTP rows (``record_immunization``) and the scenario's own documents; coverage
per declared live births; small cells withheld; a district bureau sees its own district only."""
from __future__ import annotations

from lxml import etree

from . import oracle
from .checks import ask, compare
from .scenario import POPULATION
from .test_api import post

PERIOD = {"from": "2026-10-01", "to": "2026-11-30"}  # the scenario vaccinates in October and November 2026


def _doses(region):
    return oracle.plain_rows(region.engine, "record_immunization",
                             "r.person_id AS person, r.vaccine_code AS vaccine, r.dose_number AS dose, "
                             "r.administered_on AS on_", "on_")


def _births(year: int) -> dict[str, int]:
    rows = POPULATION[POPULATION["year"] == year]
    return dict(zip(rows["division_code"], rows["live_births"]))


def test_doses_children_and_coverage_by_district_are_a_hand_count(mart, region):
    sent = [doc for docs in region.scenario.documents.values() for doc in docs
            if etree.QName(doc).localname == "Immunization"]
    total = ask(mart, "immunization", {"measures": ["doses"], "period": PERIOD})
    assert len(sent) == 42 and total["cells"] == [{"doses": 42, "suppressed": False}]  # one dose per document

    result = ask(mart, "immunization", {"measures": ["doses", "children"], "indicators": ["coverage_per_live_births"],
                                        "group_by": ["institution.district"], "period": PERIOD})
    doses = _doses(region)
    expected = doses.groupby("district").agg(doses=("person", "size"), children=("person", "nunique"))
    expected["coverage_per_live_births"] = expected["children"] / expected.index.map(_births(2026)) * 100
    expected.index.names = ["institution.district"]
    compare(result, expected, small=expected["children"] < 5, minimum=1)
    cells = {cell["institution.district"]: cell for cell in result["cells"]}
    assert set(cells) == {"330105", "330106"}
    assert not any(cell["suppressed"] for cell in cells.values())  # five or more children in each district
    assert cells["330106"]["coverage_per_live_births"] == round(cells["330106"]["children"] / 8_800 * 100, 6)


def test_by_programme_vaccine_and_dose_with_the_vaccines_names(mart, region):
    result = ask(mart, "immunization", {"measures": ["doses", "children"],
                                        "group_by": ["vaccine.programme", "vaccine.vaccine"], "period": PERIOD,
                                        "labels": True})
    doses = _doses(region)
    doses["programme"] = doses["vaccine"].map(lambda code: "optional" if code == "Flu" else "national")
    expected = doses.groupby(["programme", "vaccine"]).agg(doses=("person", "size"), children=("person", "nunique"))
    expected.index.names = ["vaccine.programme", "vaccine.vaccine"]
    compare(result, expected, small=expected["children"] < 5, minimum=1)
    assert result["labels"]["vaccine.vaccine"]["HepB"] == "乙型肝炎疫苗"

    by_dose = ask(mart, "immunization", {"measures": ["doses"], "group_by": ["dose.number"], "period": PERIOD})
    expected = _doses(region).groupby("dose").agg(doses=("person", "size"), children=("person", "nunique"))
    expected.index.names = ["dose.number"]
    compare(by_dose, expected, small=expected["children"] < 5, minimum=1)


def test_a_vaccine_given_to_fewer_than_five_children_is_withheld(mart, region):
    result = ask(mart, "immunization", {"measures": ["doses", "children"], "indicators": ["coverage_per_live_births"],
                                        "group_by": ["vaccine.vaccine"], "period": PERIOD})
    flu = next(cell for cell in result["cells"] if cell["vaccine.vaccine"] == "Flu")
    assert flu == {"vaccine.vaccine": "Flu", "doses": None, "children": None, "coverage_per_live_births": None,
                   "suppressed": True}  # two doses at C03: not even the dose count is shown
    shown = [cell for cell in result["cells"] if not cell["suppressed"]]
    assert shown and all(cell["children"] >= 5 for cell in shown)


def test_a_district_analyst_sees_only_its_district(api):
    body = {"measures": ["doses"], "group_by": ["institution.institution"], "period": PERIOD}
    city = post(api, "B01", "immunization", body).json()["cells"]
    assert {cell["institution.institution"] for cell in city} == {"C01", "C02", "C03"}
    assert sum(cell["doses"] for cell in city) == 42
    district = post(api, "B02", "immunization", body).json()["cells"]
    assert {cell["institution.institution"] for cell in district} == {"C01", "C02"}
    outside = {**body, "filters": [{"level": "institution.district", "in": ["330105"]}]}
    assert post(api, "B02", "immunization", outside).json()["cells"] == []
    assert post(api, "H01", "immunization", body).json()["cells"] == []  # a hospital that vaccinated no one
