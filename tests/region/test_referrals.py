"""Referrals both ways: community members refer up to the hospitals, hospitals down to the centre of the
patient's district; valid documents, counted in the truth as the referrals cube counts them."""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from region import Generated, plan
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"
HOSPITALS = {"RH01", "RH02"}
CENTRES = {"RC01", "RC03", "RC05", "RC07", "RC09", "RC11"}


@pytest.fixture(scope="module")
def referrals(region_dir):
    generated = Generated.open(region_dir)  # only this kind is rendered
    return [(event, event.render(generated.region)) for *_, events in generated.events() for event in events
            if event.kind in ("Referral",)]


def _read(path):
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_every_referral_validates_and_the_truth_is_what_they_say(region_dir, referrals):
    counted = Counter()
    for event, document in referrals:
        assert validate(document).type_name == "Referral"
        body = document.find(f"{DOC}body")
        sender = document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")
        counted[sender, body.find(f"{DOC}toInstitution").get("code"), body.find(f"{DOC}direction").get("code"),
                body.find(f"{DOC}referralTime").get("value")[:7]] += 1
    truth = {(row["institution"], row["to_institution"], row["direction"], row["month"]): int(row["referrals"])
             for row in _read(region_dir / "truth" / "referrals.csv")}
    assert truth == dict(counted)
    assert {direction for _, _, direction, _ in truth} == {"up", "down"}


def test_up_to_a_hospital_and_down_to_the_centre_of_the_patients_district(region_dir, referrals):
    divisions = {row["person_id"]: row["division"] for row in _read(region_dir / "people.csv")}
    registry = Generated.open(region_dir).region
    ways = Counter()
    for event, document in referrals:
        body = document.find(f"{DOC}body")
        target, direction = body.find(f"{DOC}toInstitution").get("code"), body.find(f"{DOC}direction").get("code")
        department = body.find(f"{DOC}requestedDepartment").get("code")
        if direction == "up":
            assert event.institution not in HOSPITALS and target in HOSPITALS
            assert department in {d.standard_code for d in registry.departments_of(target)}
        else:
            assert event.institution in HOSPITALS and target in CENTRES and department == "02"
            assert registry.institution(target).division == divisions[event.person_id]
        ways[direction] += 1
    assert ways["up"] > 20 and ways["down"] > 10


def test_a_member_month_plans_its_referrals_the_same_alone():
    generated = Generated.build(seed=8, size="small")
    pools = generated.pools()
    whole = {(m.code, month): [e for e in events if e.kind == "Referral"] for m, _, month, events in
             generated.events(pools)}
    for code in ("RH01", "RC03"):
        alone = plan(generated.region, pools, generated.region.institution(code), seed=8, year=2025, month=1)
        assert [e for e in alone if e.kind == "Referral"] == whole[code, 1] != []


def test_a_stay_discharged_to_community_care_is_referred_down_at_discharge():
    """离院方式 3 (医嘱转社区卫生服务机构): the hospital refers the patient to the centre of their district."""
    generated = Generated.build(seed=8, size="small")
    pools, found = generated.pools(), 0
    for month in (1, 2, 3):
        events = plan(generated.region, pools, generated.region.institution("RH01"), seed=8, year=2025, month=month)
        stays = [e for e in events if e.kind == "InpatientStay" and e.outcome == "3"]
        referred = {(r.person_id, r.time.date()): r for r in events if r.kind == "Referral"}
        for stay in stays:
            referral = referred[stay.person_id, stay.discharged.date()]
            assert referral.direction == "down" and referral.time >= stay.discharged
            assert generated.region.institution(referral.target).division == stay.patient.division
            document = referral.render(generated.region)
            assert validate(document).type_name == "Referral"
            assert document.find(f"{DOC}header/{DOC}patient/{DOC}id[@extension='{stay.inpatient_no}']") is not None
        found += len(stays)
    assert found > 0
