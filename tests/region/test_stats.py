"""Institution monthly statistics: one valid report per care giver and month, consistent with its events."""
from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal

from region import PLANNERS, Generated
from region.stats import plan_stats
from region.stays import plan_stays
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"


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
        assert row["outpatient_visits"] == visits[institution, month]["visits"]
        stay = stays.get((institution, month))
        assert row["inpatient_discharges"] == (stay["discharges"] if institution == "RH01" else "")
        care = int(visits[institution, month]["total_fen"]) + (int(stay["total_fen"]) if stay else 0)
        assert care < int(row["revenue_fen"]) < care * 1.1
        assert int(row["revenue_drugs_fen"]) >= int(visits[institution, month]["drug_fen"])
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
            assert stats[0].visits == sum(1 for e in events if e.kind == "OutpatientVisit")
            assert events.index(stats[0]) > max(i for i, e in enumerate(events) if e.kind == "OutpatientVisit")
