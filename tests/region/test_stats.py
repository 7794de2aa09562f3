"""Institution monthly statistics: one valid report per care giver and month, consistent with its events."""
from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from etl import jobs
from etl.transform import Pseudonymizer
from hub.cli.main import main
from hub.exchange.models import Message
from hub.store.db import make_engine, session_factory
from olap import apply_schema
from olap.cubes import Scope, execute, load_population, parse_query
from olap.cubes.population import read_population_csv
from olap.dimensions import (
    disease_dimension, division_dimension, institution_dimension, load_dimension, vaccine_dimension,
)
from region import PLANNERS, Generated
from region.stats import plan_stats
from region.stays import plan_stays
from region.visits import Visit
from schemas.validation import validate
from tests.support.inbox import Store

DOC = "{urn:hie:doc:v1}"
PERIOD = {"from": "2025-01-01", "to": "2025-03-31"}


def _rows(path):
    with path.open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def _fen(amount: str) -> int:
    return int(Decimal(amount) * 100)


def test_every_care_giver_reports_every_month_what_the_truth_says(region_dir):
    generated = Generated.open(region_dir)
    reported = {}
    for _, _, _, events in generated.events():
        for event in events:
            if event.kind == "InstitutionMonthlyStats":
                document = event.render(generated.region)
                assert validate(document).type_name == "InstitutionMonthlyStats"
                assert document.find(f"{DOC}header/{DOC}patient") is None and event.person_id is None
                body = document.find(f"{DOC}body")
                discharges = body.find(f"{DOC}inpatientDischarges")
                cell = (document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code"),
                        body.find(f"{DOC}period").get("value"))
                assert cell not in reported
                revenue = {r.get("category"): _fen(r.get("amount")) for r in body.findall(f"{DOC}revenue")}
                reported[cell] = (
                    *(body.find(f"{DOC}{name}").text for name in ("staffOnDuty", "approvedBeds", "openBeds")),
                    str(_fen(body.find(f"{DOC}fixedAssets").text)), body.find(f"{DOC}outpatientVisits").text,
                    "" if discharges is None else discharges.text,
                    *(str(revenue[c]) for c in ("drugs", "examinations", "treatment", "other")),
                    str(sum(revenue.values())))
    truth = {(row["institution"], row["month"]): tuple(list(row.values())[2:])
             for row in _rows(region_dir / "truth" / "stats.csv")}
    assert truth == reported
    members = {i.code for i in generated.region.care_givers}
    assert set(reported) == {(m, f"2025-{n:02d}") for m in members for n in (1, 2, 3)}


def test_the_statistics_add_up_the_member_months_visits_and_stays(region_dir):
    visits = {(r["institution"], r["month"]): r for r in _rows(region_dir / "truth" / "indicators.csv")}
    stays = {(r["institution"], r["month"]): r for r in _rows(region_dir / "truth" / "stays.csv")}
    generated = Generated.open(region_dir)
    practitioners = Counter(p.institution for p in generated.region.practitioners)
    stats = {(r["institution"], r["month"]): r for r in _rows(region_dir / "truth" / "stats.csv")}
    for (institution, month), row in stats.items():
        # the hospitals' imperfect messages (region/defects.py: corrections, cancellations, a flawed extra visit)
        # move what the cube counts a little away from what their statistics report, as in real life
        slack = 0.02 if institution.startswith("RH") else 0
        counted = int(visits[institution, month]["visits"])
        assert abs(int(row["outpatient_visits"]) - counted) <= slack * counted
        stay = stays.get((institution, month))
        assert row["inpatient_discharges"] == (stay["discharges"] if institution == "RH01" else "")
        care = int(visits[institution, month]["total_fen"]) + (int(stay["total_fen"]) if stay else 0)
        assert care * (1 - slack) < int(row["revenue_fen"]) < care * 1.1
        assert int(row["revenue_drugs_fen"]) >= int(visits[institution, month]["drug_fen"]) * (1 - slack)
        assert int(row["staff_on_duty"]) > practitioners[institution]
        assert int(row["open_beds"]) <= int(row["approved_beds"]) and (int(row["approved_beds"]) > 0) == (
            institution == "RH01")
    for institution in {i for i, _ in stats}:
        assets = [int(stats[institution, f"2025-{n:02d}"]["fixed_assets_fen"]) for n in (1, 2, 3)]
        assert all(0 <= later - earlier < earlier * 0.01 for earlier, later in zip(assets, assets[1:]))
    rh01 = stats["RH01", "2025-01"]
    occupied = int(stays["RH01", "2025-01"]["bed_days"]) / (int(rh01["open_beds"]) * 31)
    assert 0.6 < occupied < 1.35  # the beds fit the stays (85 % over the year, winter fuller; small wards here)


def test_the_statistics_are_planned_after_the_visits_and_the_stays():
    assert PLANNERS.index(plan_stats) > PLANNERS.index(plan_stays)  # it counts the stays: it plans after them
    generated = Generated.build(seed=4, size="small")
    generated.periods = [(2025, 2)]
    for member, _, _, events in generated.events():
        stats = [e for e in events if e.kind == "InstitutionMonthlyStats"]
        assert len(stats) == (1 if member.sees_patients else 0)
        if stats:
            planned = [i for i, e in enumerate(events) if type(e) is Visit]  # not defects.py's messages
            assert stats[0].visits == len(planned) and events.index(stats[0]) > max(planned)


@pytest.mark.slow  # about 7 s: the processor, the ETL into chDB and eight cube queries
def test_the_truth_files_are_what_the_cubes_say_after_a_load(region_dir, tmp_path, chdb_olap):
    """Stays, monthly statistics and the public-health kinds of the small region through the real processor,
    ETL and cubes: the cubes' cells are the truth's, every published value is the truth's, every cell of fewer
    than five persons is withheld."""
    data = tmp_path / "hub"
    assert CliRunner().invoke(main, ["registry", "import", "--data-dir", str(data),
                                     str(region_dir / "registry.json")]).exit_code == 0
    engine = make_engine(f"sqlite:///{data / 'hub.db'}")
    store = Store(session_factory(engine))
    generated = Generated.open(region_dir)
    delivered = 0
    for member, _, _, events in generated.events():
        documents = [e.render(generated.region) for e in events  # not the visits, nor defects.py's messages
                     if e.kind != "OutpatientVisit" and type(e).__module__ != "region.defects"]
        delivered += len(documents)
        for start in range(0, len(documents), 200):
            store.deliver(*documents[start:start + 200], member=member.code)
    store.process()
    with store.sessions() as session:  # every document stored: none rejected, none left waiting
        assert Counter(status for (status,) in session.execute(select(Message.status))) == {"processed": delivered}
    apply_schema(chdb_olap)
    jobs.backfill(store.sessions, chdb_olap, Pseudonymizer(b"region-test-key-0123456789abcdef"),
                  start=date(2020, 1, 1), end=date(2026, 1, 1))
    with engine.connect() as connection:
        load_dimension(chdb_olap, "dim_institution", institution_dimension(connection))
    for name, frame in (("dim_division", division_dimension()), ("dim_disease", disease_dimension()),
                        ("dim_vaccine", vaccine_dimension())):
        load_dimension(chdb_olap, name, frame)
    load_population(chdb_olap, read_population_csv(region_dir / "population.csv"))
    engine.dispose()
    truth = {name: _rows(region_dir / "truth" / f"{name}.csv")
             for name in ("stays", "stats", "public-health", "diseases", "diseases-by-residence")}
    by_cell = {"institution.institution": "institution", "date.month": "month", "disease.disease": "disease",
               "residence.district": "division", "institution.district": "district"}

    def check(cube, measures, group_by, rows, persons, *, expected=None):
        query = {"measures": measures, "group_by": list(group_by), "period": PERIOD}
        answer = execute(chdb_olap, parse_query(cube, query, today=date(2026, 1, 1)), scope=Scope())
        want = {tuple(row[by_cell[level]] for level in group_by): row for row in rows
                if PERIOD["from"][:7] <= row["month"] <= PERIOD["to"][:7]}
        cells = {tuple(cell[level] for level in group_by): cell for cell in answer["cells"]}
        assert set(cells) == {key for key, row in want.items() if persons is None or int(row[persons]) > 0}, cube
        for key, cell in cells.items():
            if persons is not None and int(want[key][persons]) < 5:
                assert cell["suppressed"], (cube, key)
            elif not cell["suppressed"]:
                assert {m: cell[m] for m in measures} == {
                    m: int(want[key][column]) for m, column in (expected or dict(zip(measures, measures))).items()}, key
        return sum(not cell["suppressed"] for cell in cells.values())

    cells = ("institution.institution", "date.month")
    assert check("admissions", ["admissions"], cells, truth["stays"], "admissions") == 3
    assert check("discharges", ["discharges", "bed_days", "total_fen"], cells, truth["stays"], "discharges") == 3
    stats = [{**row, "reports": "1", "open_bed_days": str(int(row["open_beds"]) * {"01": 31, "02": 28, "03": 31}[
        row["month"][5:]])} for row in truth["stats"]]  # a cube without persons: nothing withheld
    assert check("institution_month", ["reports", "staff_months", "reported_visits", "open_bed_days",
                                       "fixed_assets_fen", "revenue_fen"], cells, stats, None,
                 expected={"reports": "reports", "staff_months": "staff_on_duty",
                           "reported_visits": "outpatient_visits", "open_bed_days": "open_bed_days",
                           "fixed_assets_fen": "fixed_assets_fen", "revenue_fen": "revenue_fen"}) == 42
    # a child or a woman belongs to one centre of her district: the centres' distinct persons add up by district
    district_of = {i.code: i.division for i in generated.region.institutions}
    summed = {}
    for row in truth["public-health"]:
        cell = summed.setdefault((district_of[row["institution"]], row["month"]),
                                 dict.fromkeys(list(row)[2:], 0) | {"district": district_of[row["institution"]],
                                                                     "month": row["month"]})
        for column in list(row)[2:]:
            cell[column] += int(row[column])
    care, cells = list(summed.values()), ("institution.district", "date.month")
    assert check("immunization", ["doses", "children"], cells, care, "vaccinated",
                 expected={"doses": "doses", "children": "vaccinated"}) > 3
    check("child", ["checkups", "children"], cells, care, "children_checked",
          expected={"checkups": "child_checkups", "children": "children_checked"})
    check("maternal", ["checkups", "women", "antenatal_checkups", "antenatal_women"], cells, care, "women",
          expected={"checkups": "maternal_checkups", "women": "women", "antenatal_checkups": "antenatal_checkups",
                    "antenatal_women": "antenatal_women"})
    assert check("diseases", ["cases"], ("institution.institution", "date.month", "disease.disease"),
                 truth["diseases"], "cases") > 3
    assert check("diseases", ["cases"], ("residence.district", "date.month", "disease.disease"),
                 truth["diseases-by-residence"], "cases") > 0
