"""Inpatient stays at RH01: valid documents sent in the discharge month that add up to truth/stays.csv."""
from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from decimal import Decimal

from region import Generated
from region.events import MonthContext
from region.stays import Stay, plan_stays
from region.visits import expected_visits
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"


def _rows(path):
    with path.open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def _stays(generated):
    return [event for _, _, _, events in generated.events() for event in events if event.kind == "InpatientStay"]


def test_every_stay_validates_and_the_truth_is_what_the_documents_say(region_dir):
    generated = Generated.open(region_dir)
    admissions, discharges, bed_days, fen = Counter(), Counter(), Counter(), Counter()
    for stay in _stays(generated):
        document = stay.render(generated.region)
        assert validate(document).type_name == "InpatientStay"
        body = document.find(f"{DOC}body")
        institution = document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")
        admitted = datetime.fromisoformat(body.find(f"{DOC}admissionTime").get("value"))
        discharged = datetime.fromisoformat(body.find(f"{DOC}dischargeTime").get("value"))
        days = int(body.find(f"{DOC}bedDays").text)
        assert institution == "RH01" and 3 <= days <= 15 and days == (discharged.date() - admitted.date()).days
        # sent in the month it ends: its id and the month it is planned in are the discharge's
        assert stay.record_id.split("-")[3] == f"{discharged:%Y%m}" and stay.month == f"{discharged:%Y-%m}"
        admissions[institution, f"{admitted:%Y-%m}"] += 1
        discharges[institution, f"{discharged:%Y-%m}"] += 1
        bed_days[institution, f"{discharged:%Y-%m}"] += days
        fen[institution, f"{discharged:%Y-%m}"] += int(sum(Decimal(c.get("amount")) for c in body.iter(f"{DOC}charge"))
                                                      * 100)
    truth = {(row["institution"], row["month"]): row for row in _rows(region_dir / "truth" / "stays.csv")}
    assert set(truth) == set(admissions) | set(discharges)
    for cell, row in truth.items():
        assert (int(row["admissions"]), int(row["discharges"]), int(row["bed_days"]), int(row["total_fen"])) == (
            admissions[cell], discharges[cell], bed_days[cell], fen[cell]), cell
        if discharges[cell]:
            assert Decimal(row["average_length_of_stay"]) == (Decimal(bed_days[cell]) / discharges[cell]).quantize(
                Decimal("0.01"))
    # a stay admitted at the end of the month before the first is sent in the first month
    assert truth["RH01", "2024-12"]["discharges"] == "0" and int(truth["RH01", "2024-12"]["admissions"]) > 0


def test_a_member_month_re_planned_alone_gives_the_same_stays():
    generated = Generated.build(seed=4, size="small")
    whole = {(m.code, month): [e for e in events if isinstance(e, Stay)] for m, _, month, events in generated.events()}
    generated.periods = [(2025, 2)]
    alone = {(m.code, month): [e for e in events if isinstance(e, Stay)] for m, _, month, events in generated.events()}
    assert alone["RH01", 2] == whole["RH01", 2] and len(alone["RH01", 2]) > 10


def test_a_stay_crossing_months_is_planned_once_in_its_discharge_month():
    generated = Generated.build(seed=4, size="small")
    pools, hospital = generated.pools(), generated.region.institution("RH01")
    months = [plan_stays(MonthContext(generated.region, pools, hospital, 4, 2025, month, ())) for month in (1, 2, 3)]
    stays = [stay for planned in months for stay in planned]
    assert len({(s.person_id, s.admitted) for s in stays}) == len({s.record_id for s in stays}) == len(stays)
    crossing = [s for s in months[1] if s.admission_month == "2025-01"]
    assert crossing and all(s.admitted.day >= 17 for s in crossing)  # at most 15 nights before 1 February
    assert all(s.month == f"2025-{number:02d}" for number, planned in enumerate(months, start=1) for s in planned)


def test_admissions_follow_the_hospital_visits_and_winter():
    generated = Generated.build(seed=4, size="full")
    pools, hospital = generated.pools(), generated.region.institution("RH01")
    admitted = Counter()
    for month in range(1, 13):
        for stay in plan_stays(MonthContext(generated.region, pools, hospital, 4, 2025, month, ())):
            admitted[stay.admitted.month] += stay.admitted.year == 2025
    for month in range(1, 12):  # December's stays discharged in January are not planned here
        assert 20 < expected_visits(generated.region, pools, hospital, month) / admitted[month] < 31
    assert admitted[1] > 1.2 * admitted[7]
    assert all(isinstance(e, Stay) for e in plan_stays(MonthContext(generated.region, pools, hospital, 4, 2025, 1, ())))
    assert plan_stays(MonthContext(generated.region, pools, generated.region.institution("RH02"), 4, 2025, 1, ())) == []
