"""Immunizations, child and maternal checkups, disease reports: valid documents that add up to the truth,
on the schedule, after the visits, with the winter's influenza, the summer's HFMD and the outbreak."""
from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date

from region import Generated
from region.events import MonthContext
from region.public_health import CHECKUP_AGES, SCHEDULE
from region.public_health_diseases import outbreak_plan, plan_disease_reports
from region.visits import Visit
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"
KINDS = ("Immunization", "ChildHealthCheckup", "MaternalCheckup", "InfectiousDiseaseReport")


def _rows(path):
    with path.open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def _months_old(born: date, day: date) -> int:
    return (day.year - born.year) * 12 + day.month - born.month - (day.day < born.day)


def _documents(region_dir):
    """(event, document, body, institution, true person) of every public-health event, rendered and valid."""
    generated = Generated.open(region_dir)
    persons = {row["record_id"]: row["person_id"] for row in _rows(region_dir / "truth" / "records.csv")}
    for _, _, _, events in generated.events():
        for event in events:
            if event.kind in KINDS:
                document = event.render(generated.region)
                assert validate(document).type_name == event.kind
                institution = document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")
                record_id = document.find(f"{DOC}header/{DOC}id").get("extension")
                yield event, document.find(f"{DOC}body"), institution, persons[record_id]


def test_every_document_validates_and_the_truth_is_what_the_documents_say(region_dir):
    counts, persons, doses = Counter(), defaultdict(set), Counter()
    cases, residence = Counter(), Counter()
    for event, body, institution, person in _documents(region_dir):
        if event.kind == "Immunization":
            month = body.find(f"{DOC}administeredOn").get("value")[:7]
            counts[institution, month, "doses"] += 1
            persons[institution, month, "vaccinated"].add(person)
            doses[institution, month, body.find(f"{DOC}vaccine").get("code"), body.find(f"{DOC}doseNumber").text] += 1
        elif event.kind == "ChildHealthCheckup":
            month = body.find(f"{DOC}checkupDate").get("value")[:7]
            assert int(body.find(f"{DOC}ageMonths").text) < 84
            counts[institution, month, "child_checkups"] += 1
            persons[institution, month, "children_checked"].add(person)
        elif event.kind == "MaternalCheckup":
            month = body.find(f"{DOC}checkupDate").get("value")[:7]
            counts[institution, month, "maternal_checkups"] += 1
            persons[institution, month, "women"].add(person)
            if body.find(f"{DOC}checkupType").get("code") == "antenatal":
                counts[institution, month, "antenatal_checkups"] += 1
                persons[institution, month, "antenatal_women"].add(person)
        else:
            month, disease = body.find(f"{DOC}diagnosisDate").get("value")[:7], body.find(f"{DOC}disease").get("code")
            cases[institution, month, disease] += 1
            residence[body.find(f"{DOC}currentAddress").get("division"), month, disease] += 1
    truth = _rows(region_dir / "truth" / "public-health.csv")
    assert {(row["institution"], row["month"]) for row in truth} == {key[:2] for key in (*counts, *persons)}
    for row in truth:
        cell = (row["institution"], row["month"])
        for measure in ("doses", "child_checkups", "maternal_checkups", "antenatal_checkups"):
            assert int(row[measure]) == counts[(*cell, measure)], (cell, measure)
        for measure in ("vaccinated", "children_checked", "women", "antenatal_women"):
            assert int(row[measure]) == len(persons[(*cell, measure)]), (cell, measure)
    assert {(r["institution"], r["month"], r["vaccine"], r["dose"]): int(r["doses"])
            for r in _rows(region_dir / "truth" / "immunizations.csv")} == doses
    assert {(r["institution"], r["month"], r["disease"]): int(r["cases"])
            for r in _rows(region_dir / "truth" / "diseases.csv")} == cases
    assert {(r["division"], r["month"], r["disease"]): int(r["cases"])
            for r in _rows(region_dir / "truth" / "diseases-by-residence.csv")} == residence
    assert sum(counts[key] for key in counts if key[2] == "doses") > 50


def test_children_are_vaccinated_and_checked_at_their_centre_on_the_schedule(region_dir):
    people = {row["person_id"]: row for row in _rows(region_dir / "people.csv")}
    registry = {i["code"]: i for i in json.loads((region_dir / "registry.json").read_text("utf-8"))["institutions"]}
    due = {(vaccine, dose): age for age, doses in SCHEDULE.items() for vaccine, dose in doses}
    women = Counter()
    for event, body, institution, person in _documents(region_dir):
        if event.kind == "InfectiousDiseaseReport":
            continue
        assert registry[institution]["kind"] == "community_center"
        assert people[person]["division"] == registry[institution]["division"]
        born = date.fromisoformat(people[person]["birth_date"])
        if event.kind == "Immunization":
            given = date.fromisoformat(body.find(f"{DOC}administeredOn").get("value"))
            age = due[body.find(f"{DOC}vaccine").get("code"), int(body.find(f"{DOC}doseNumber").text)]
            assert _months_old(born, given) == age or (born.day > 28 and _months_old(born, given) == age - 1)
        elif event.kind == "ChildHealthCheckup":
            months = int(body.find(f"{DOC}ageMonths").text)
            assert months in CHECKUP_AGES or (born.day > 28 and months + 1 in CHECKUP_AGES)
        else:
            day = date.fromisoformat(body.find(f"{DOC}checkupDate").get("value"))
            assert people[person]["sex"] == "2" and 18 <= (day - born).days // 365 <= 48
            weeks = body.find(f"{DOC}gestationalWeeks")
            assert weeks is None or 11 <= int(weeks.text) <= 41
            women[person] += 1
    assert sum(women.values()) / len(women) > 1.4  # several checkups each, even in three months


def test_influenza_follows_the_visits_and_the_winter(region_dir):
    generated = Generated.open(region_dir)
    flu_visits, reports = set(), Counter()
    respiratory = set()
    for _, _, _, events in generated.events():
        for event in events:
            # the visits as planned (not the hospitals' corrected or invalid messages, region/defects.py)
            if type(event) is Visit and event.diagnosis in ("J11", "J06.9", "J20", "R05"):
                respiratory.add((event.institution, event.person_id, event.time.date()))
                if event.diagnosis == "J11":
                    flu_visits.add((event.institution, event.person_id, event.month))
            elif event.kind == "InfectiousDiseaseReport" and event.disease == "301":
                assert (event.institution, event.person_id, event.diagnosed.date()) in respiratory
                assert event.onset <= event.diagnosed.date()
                reports[event.institution, event.person_id, event.month] += 1
    assert flu_visits <= set(reports) and max(reports.values()) == 1  # every J11 patient reported, once a month
    by_month = Counter(month for _, _, month in reports)
    assert by_month["2025-01"] > 1.4 * by_month["2025-03"]


def test_the_outbreak_is_one_district_over_two_weeks_well_above_its_baseline(region_dir):
    (outbreak,) = _rows(region_dir / "truth" / "outbreak.csv")
    first, last = date.fromisoformat(outbreak["first_diagnosis"]), date.fromisoformat(outbreak["last_diagnosis"])
    assert (date.fromisoformat(outbreak["last_onset"]) - date.fromisoformat(outbreak["first_onset"])).days < 14
    assert (last - first).days <= 16 and int(outbreak["cases"]) >= 12
    daily = Counter()
    for event, body, _, _ in _documents(region_dir):
        if event.kind == "InfectiousDiseaseReport" and body.find(f"{DOC}disease").get("code") == outbreak["disease"] \
                and body.find(f"{DOC}currentAddress").get("division") == outbreak["division"]:
            daily[date.fromisoformat(body.find(f"{DOC}diagnosisDate").get("value"))] += 1
    inside = sum(n for day, n in daily.items() if first <= day <= last)
    outside = sum(daily.values()) - inside
    window = (last - first).days + 1
    assert inside >= int(outbreak["cases"])
    assert inside > 4 * max(1.0, outside * window / (90 - window))  # the rest of the quarter's rate
    small = Generated.open(region_dir)
    full = Generated.build(seed=small.seed, size="full")
    planned = [outbreak_plan(g.region, g.pools(), seed=g.seed, year=2025) for g in (small, full)]
    assert planned[0].start == planned[1].start and planned[0].division == planned[1].division == outbreak["division"]
    assert len(planned[1].cases) > len(planned[0].cases)  # about 0.35 % of the district's residents


def test_hand_foot_mouth_peaks_in_summer_among_children_under_5():
    generated = Generated.build(seed=4, size="full")
    pools, by_month = generated.pools(), Counter()
    for member in generated.region.care_givers:
        for month in range(1, 13):
            for report in plan_disease_reports(MonthContext(generated.region, pools, member, 4, 2025, month, ())):
                if report.disease == "311":
                    born = pools.people[int(report.person_id[1:]) - 1].birth_date
                    assert (report.diagnosed.date() - born).days < 5 * 365
                    by_month[month] += 1
    assert by_month[5] + by_month[6] + by_month[7] > 3 * (by_month[12] + by_month[1] + by_month[2]) > 0


def test_a_member_month_re_planned_alone_gives_the_same_events():
    generated = Generated.build(seed=4, size="small")
    whole = {(m.code, month): [e for e in events if e.kind in KINDS] for m, _, month, events in generated.events()}
    generated.periods = [(2025, 3)]
    alone = {(m.code, month): [e for e in events if e.kind in KINDS] for m, _, month, events in generated.events()}
    assert all(alone[key] == whole[key] for key in alone)
    assert sum(len(events) for events in alone.values()) > 100
    assert {e.kind for events in alone.values() for e in events} == set(KINDS)
    assert all(e.month == "2025-03" for events in alone.values() for e in events)
