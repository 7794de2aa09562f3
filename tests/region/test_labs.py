"""Lab reports: valid documents whose flags agree with their values and ranges, mostly at the hospitals,
counted in the truth as the lab facts will count them."""
from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal

import pytest

from region import Generated, plan
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"


@pytest.fixture(scope="module")
def reports(region_dir):
    generated = Generated.open(region_dir)  # only this kind is rendered
    return [(event, event.render(generated.region)) for *_, events in generated.events() for event in events
            if event.kind in ("LabReport",)]


def test_every_report_validates_and_the_truth_is_what_they_say(region_dir, reports):
    cells = Counter()
    for event, document in reports:
        assert validate(document).type_name == "LabReport"
        institution = document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")
        month = document.find(f"{DOC}body/{DOC}reportTime").get("value")[:7]
        flags = [r.get("code") for r in document.iterfind(f"{DOC}body/{DOC}result/{DOC}abnormalFlag")]
        cells[institution, month, "reports"] += 1
        cells[institution, month, "results"] += len(flags)
        cells[institution, month, "abnormal_results"] += sum(flag != "N" for flag in flags)
    with (region_dir / "truth" / "labs.csv").open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    assert {(row["institution"], row["month"]) for row in rows} == {key[:2] for key in cells}
    for row in rows:
        for column in ("reports", "results", "abnormal_results"):
            assert int(row[column]) == cells[row["institution"], row["month"], column]


def test_flags_follow_values_and_ranges_and_diabetics_are_high(reports):
    glucose = Counter()
    for _, document in reports:
        for result in document.iterfind(f"{DOC}body/{DOC}result"):
            flag, value = result.find(f"{DOC}abnormalFlag").get("code"), result.findtext(f"{DOC}value")
            bounds = result.find(f"{DOC}referenceRange")
            if result.find(f"{DOC}unit") is None:
                assert (value, flag) in {("阴性", "N"), ("阳性", "A")}
                continue
            number = Decimal(value)
            low, high = (None if bounds.get(side) is None else Decimal(bounds.get(side)) for side in ("low", "high"))
            if flag in ("H", "HH"):
                assert high is not None and number > high
            elif flag in ("L", "LL"):
                assert low is not None and number < low
            else:
                assert flag == "N" and (low is None or number >= low) and (high is None or number <= high)
            if result.find(f"{DOC}test").get("code") == "14771-0":
                glucose[flag in ("H", "HH")] += 1
    assert glucose[True] > 2 * glucose[False]


def test_hospitals_test_far_more_visits_than_community_members(region_dir):
    with (region_dir / "truth" / "labs.csv").open(encoding="utf-8") as source:
        reports = Counter()
        for row in csv.DictReader(source):
            reports["hospital" if row["institution"].startswith("RH") else "community"] += int(row["reports"])
    with (region_dir / "truth" / "indicators.csv").open(encoding="utf-8") as source:
        visits = Counter()
        for row in csv.DictReader(source):
            visits["hospital" if row["institution"].startswith("RH") else "community"] += int(row["visits"])
    assert reports["hospital"] / visits["hospital"] > 3 * reports["community"] / visits["community"]
    assert reports["community"] > 0


def test_a_member_month_plans_its_reports_the_same_alone():
    generated = Generated.build(seed=6, size="small")
    pools = generated.pools()
    whole = {(m.code, month): [e for e in events if e.kind == "LabReport"] for m, _, month, events in
             generated.events(pools)}
    alone = plan(generated.region, pools, generated.region.institution("RH02"), seed=6, year=2025, month=3)
    assert [e for e in alone if e.kind == "LabReport"] == whole["RH02", 3] != []
