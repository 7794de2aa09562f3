"""Outbreak detection evaluated: EARS C1, C2, C3 and CUSUM on series with known answers.

    python -m bench.outbreak --out bench/results [--replicates 50] [--seed 1] [--region-seeds 20251205 1 2 3 4]

Two parts, both written to ``outbreak.json`` and printed as tables:

- **synthetic** (``bench.outbreak_synthetic``): Poisson district-years at 0.2–20 cases a day with a
  weekly pattern, one outbreak injected in each (spike, linear ramp, log-normal incubation curve; two
  strengths), ``--replicates`` of each scenario: per method the sensitivity, false alerts per
  district-year and median days to detection;
- **region**: the synthetic region's own outbreak (``region.public_health_diseases.outbreak_plan``,
  the norovirus cluster of ``truth/outbreak.csv``): the daily reports of disease 310 per district of
  residence by diagnosis day, planned as ``hie region generate`` plans them (its visits, then the
  disease reports), and what each method makes of them: the incidents, whether the cluster is
  detected and on which day, and the false alerts in the rest of the year.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from hub.workflows.surveillance.detectors import DEFAULT_METHODS, CountSeries
from hub.workflows.surveillance.incidents import IncidentRule, group, incidents
from hub.workflows.surveillance.settings import PLAIN, DetectorSettings, settings_for

from .outbreak_synthetic import (
    ALL, CLINIC_WEEKLY, LEVELS, SEASON, WEEKLY, calibrate, evaluate, floors, method_signals, with_threshold,
)

DISEASE = OUTBREAK_DISEASE = "310"  # the region's injected cluster is other infectious diarrhoea (norovirus)
INFLUENZA = "301"
# a quieter set of thresholds (from the calibration: about 0.2-0.5 false alerts per district-year each)
QUIET = {"C1": 4.0, "C2": 4.0, "C3": 4.0, "CUSUM": 6.0}


# the series the settings are compared on: the weekly pattern alone (as before), with a winter season, and a
# clinic's stronger week with the season
SERIES = {"weekly": (WEEKLY, 0.0), "weekly+season": (WEEKLY, SEASON), "clinic week+season": (CLINIC_WEEKLY, SEASON)}


def compare(*, seed: int, replicates: int, levels=LEVELS, disease: str = DISEASE) -> dict:
    """Before (``settings.PLAIN``) and after (the hub's table for ``disease``) on each of ``SERIES``."""
    after = settings_for(disease)
    out = {}
    for label, (weekly, season) in SERIES.items():
        out[label] = {}
        for name, settings in (("before", PLAIN), ("after", after)):
            started = time.perf_counter()
            result = evaluate(seed=seed, replicates=replicates, levels=levels, methods=settings.methods,
                              rule=settings.rule, season=season, weekly=weekly)
            out[label][name] = {"overall": result["overall"], "by_level": result["by_level"],
                                "seconds": round(time.perf_counter() - started, 1)}
    return out


def compare_table(compared: dict) -> str:
    """Sensitivity / false alerts per district-year / median days, before → after, per series and method."""
    rows = []
    for label, pair in compared.items():
        for name in pair["before"]["overall"]:
            cells = []
            for key in ("sensitivity", "false_alerts_per_district_year", "median_days_to_detection"):
                cells.append(f"{pair['before']['overall'][name][key]} → {pair['after']['overall'][name][key]}")
            rows.append([label, name, *cells])
    return _table(["series", "method", "sensitivity", "false alerts per district-year", "median days"], rows)


def influenza(series: dict[str, CountSeries], settings: DetectorSettings) -> dict:
    """Influenza's incidents in the region's year: per district, and per district-year."""
    found = {district: incidents(one, methods=settings.methods, rule=settings.rule)
             for district, one in sorted(series.items())}
    years = sum(len(one.counts) for one in series.values()) / 365
    return {"incidents": {d: [{"detected": i.detected.isoformat(), "last_signal": i.last_signal.isoformat(),
                               "cases": i.cases, "methods": list(i.methods)} for i in f] for d, f in found.items()},
            "per_district_year": round(sum(len(f) for f in found.values()) / years, 2)}


def quiet_methods() -> list:
    return [with_threshold(method, QUIET[method.name]) for method in DEFAULT_METHODS]


@lru_cache(maxsize=4)
def region_counts(*, seed: int, size: str, disease: str = DISEASE) -> tuple[dict[str, CountSeries], dict]:
    """A disease's (default 310's) daily series per district of residence, and the injected cluster's truth
    (read only; the cluster is 310's)."""
    from region import Generated, senders
    from region.events import MonthContext
    from region.public_health_diseases import plan_disease_reports
    from region.visits import plan_month

    generated = Generated.build(seed=seed, size=size)
    pools = generated.pools()
    days: dict[str, Counter] = {code: Counter() for code, _ in generated.region.districts}
    cluster = []
    for member in senders(generated.region):
        if not member.sees_patients:
            continue
        for year, month in generated.periods:
            # the disease planner reads only the member-month's visits (the events planned before it)
            visits = plan_month(generated.region, pools, member, seed=seed, year=year, month=month)
            context = MonthContext(generated.region, pools, member, seed, year, month, tuple(visits))
            for report in plan_disease_reports(context):
                if report.disease == disease:
                    days[report.division][report.diagnosed.date()] += 1
                if report.outbreak:
                        cluster.append(report)
    first_year, first_month = generated.periods[0]
    last_year, last_month = generated.periods[-1]
    start = date(first_year, first_month, 1)
    end = date(last_year + last_month // 12, last_month % 12 + 1, 1) - timedelta(days=1)  # the last month's end
    series = {district: CountSeries.from_days(disease=disease, district=district, days=counts, start=start, end=end)
              for district, counts in days.items()}
    diagnosed = sorted(report.diagnosed.date() for report in cluster)
    truth = {"disease": OUTBREAK_DISEASE, "district": cluster[0].division if cluster else None, "cases": len(cluster),
             "first_diagnosis": diagnosed[0].isoformat() if cluster else None,
             "last_diagnosis": diagnosed[-1].isoformat() if cluster else None}
    return series, truth


def judge_region(series: dict[str, CountSeries], truth: dict, *, methods=DEFAULT_METHODS,
                 rule: IncidentRule = IncidentRule()) -> dict:
    """Per method: the cluster detected or not, on which day, and every incident of every district."""
    first = date.fromisoformat(truth["first_diagnosis"])
    last = date.fromisoformat(truth["last_diagnosis"])
    results: dict[str, dict] = {}
    for district, one in sorted(series.items()):
        baseline = sum(one.counts) / len(one.counts)
        for name, days in method_signals(one, methods, first=0).items():
            entry = results.setdefault(name, {"detected": False, "first_detection": None, "days_after_first_case": None,
                                              "false_alerts": 0, "incidents": []})
            for incident in group(one, days, rule):
                hit = district == truth["district"] and incident.detected <= last and incident.last_signal >= first
                entry["incidents"].append({"district": district, "start": incident.start.isoformat(),
                                           "detected": incident.detected.isoformat(),
                                           "last_signal": incident.last_signal.isoformat(),
                                           "cases": incident.cases, "methods": list(incident.methods),
                                           "cluster": hit, "district_mean_per_day": round(baseline, 3)})
                if not hit:
                    entry["false_alerts"] += 1
            inside = [d.day for d in days if district == truth["district"] and first <= d.day <= last]
            if inside:
                entry["detected"] = True
                entry["first_detection"] = inside[0].isoformat()
                entry["days_after_first_case"] = (inside[0] - first).days
    return results


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def synthetic_table(result: dict) -> str:
    rows = []
    for name, score in result["overall"].items():
        by_strength = [result["by_strength"][key][name]["sensitivity"] for key in sorted(result["by_strength"],
                                                                                         key=float)]
        rows.append([name, score["sensitivity"], *by_strength, score["false_alerts_per_district_year"],
                     score["median_days_to_detection"]])
    strengths = [f"sensitivity, strength {key}" for key in sorted(result["by_strength"], key=float)]
    return _table(["method", "sensitivity", *strengths, "false alerts per district-year",
                   "median days to detection"], rows)


def breakdown_table(result: dict, axis: str) -> str:
    """Sensitivity / false alerts per district-year / median days of every method, per value of ``axis``."""
    per = result[f"by_{axis}"]
    names = list(result["overall"])
    rows = []
    for value in per:
        cells = (per[value][name] for name in names)
        rows.append([value, *(f"{c['sensitivity']} / {c['false_alerts_per_district_year']} / "
                              f"{c['median_days_to_detection']}" for c in cells)])
    return _table([axis, *names], rows)


def calibration_table(calibration: dict) -> str:
    rows = [[name, value, score["sensitivity"], score["false_alerts_per_district_year"],
             score["median_days_to_detection"]]
            for name, per in calibration.items() for value, score in per.items()]
    return _table(["method", "threshold (CUSUM: h)", "sensitivity", "false alerts per district-year",
                   "median days to detection"], rows)


def floors_table(compared: dict) -> str:
    rows = []
    for label, result in compared.items():
        low = result["by_level"][min(result["by_level"], key=float)][ALL]
        rows.append([label, *(f"{s['sensitivity']} / {s['false_alerts_per_district_year']}"
                              for s in result["overall"].values()),
                     f"{low['sensitivity']} / {low['false_alerts_per_district_year']}"])
    names = list(next(iter(compared.values()))["overall"])
    return _table(["sd floor", *names, "ALL at the lowest level"], rows)


def region_table(regions: list[dict], *, part: str = "methods") -> str:
    rows = []
    for region in regions:
        truth = region["truth"]
        for name, entry in region[part].items():
            rows.append([region["seed"], f"{truth['district']} {truth['first_diagnosis']}…{truth['last_diagnosis']}, "
                         f"{truth['cases']} cases", name, "yes" if entry["detected"] else "no",
                         entry["first_detection"] or "—", "—" if entry["days_after_first_case"] is None
                         else entry["days_after_first_case"], entry["false_alerts"]])
    return _table(["seed", "cluster (district, diagnoses, cases)", "method", "detected", "first detection",
                   "days after first diagnosis", "false alerts in the year (all districts)"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbreak", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--replicates", type=int, default=50, help="replicates of each synthetic scenario")
    parser.add_argument("--seed", type=int, default=1, help="the synthetic series' seed")
    parser.add_argument("--levels", type=float, nargs="+", default=list(LEVELS),
                        help="baseline cases a day of the synthetic series")
    parser.add_argument("--region-seeds", type=int, nargs="*", default=[20251205, 1, 2, 3, 4],
                        help="seeds of the synthetic region (hie region generate's default: 20251205)")
    parser.add_argument("--size", choices=("small", "full"), default="full", help="the region's size")
    parser.add_argument("--no-calibration", dest="calibrate", action="store_false",
                        help="leave out the thresholds' and sd floors' grids (3-4 minutes)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    synthetic = evaluate(seed=args.seed, replicates=args.replicates, levels=args.levels)
    synthetic["seconds"] = round(time.perf_counter() - started, 1)
    print(f"synthetic: {synthetic['scenarios']} scenarios × {args.replicates} replicates, seed {args.seed}, "
          f"{synthetic['seconds']} s")
    print(synthetic_table(synthetic))
    for axis in ("level", "shape"):
        print(f"\nper {axis}: sensitivity / false alerts per district-year / median days to detection")
        print(breakdown_table(synthetic, axis))
    started = time.perf_counter()
    before_after = compare(seed=args.seed, replicates=args.replicates, levels=args.levels)
    print(f"\nbefore (settings.PLAIN) → after (settings.DISEASES, disease {DISEASE}) "
          f"({time.perf_counter() - started:.1f} s)")
    print(compare_table(before_after))
    calibration = compared = None
    if args.calibrate:
        started = time.perf_counter()
        calibration = calibrate(seed=args.seed, replicates=args.replicates, levels=args.levels)
        print(f"\neach method alone at other thresholds ({time.perf_counter() - started:.1f} s)")
        print(calibration_table(calibration))
        started = time.perf_counter()
        compared = floors(seed=args.seed, replicates=args.replicates, levels=args.levels)
        print(f"\nthe sd floors compared, all levels: sensitivity / false alerts per district-year "
              f"({time.perf_counter() - started:.1f} s)")
        print(floors_table(compared))
    started = time.perf_counter()
    quiet = evaluate(seed=args.seed, replicates=args.replicates, levels=args.levels, methods=quiet_methods())
    quiet["thresholds"] = QUIET
    print(f"\nquieter thresholds {QUIET} ({time.perf_counter() - started:.1f} s)")
    print(synthetic_table(quiet))

    regions = []
    for seed in args.region_seeds:
        started = time.perf_counter()
        series, truth = region_counts(seed=seed, size=args.size)
        table = settings_for(DISEASE)
        flu, _ = region_counts(seed=seed, size=args.size, disease=INFLUENZA)
        regions.append({"seed": seed, "size": args.size, "truth": truth,
                        "district_cases": {d: sum(s.counts) for d, s in series.items()},
                        "methods": judge_region(series, truth),
                        "quiet": judge_region(series, truth, methods=quiet_methods()),
                        "table": judge_region(series, truth, methods=table.methods, rule=table.rule),
                        "influenza": {"before": influenza(flu, PLAIN), "after": influenza(flu, settings_for(INFLUENZA))},
                        "seconds": round(time.perf_counter() - started, 1)})
    print(f"\nregion ({args.size}): disease {DISEASE} per district of residence, by diagnosis day")
    print(region_table(regions))
    print(f"\nthe same, quieter thresholds {QUIET}")
    print(region_table(regions, part="quiet"))
    print("\nthe same, the hub's settings table (settings.DISEASES) for 310")
    print(region_table(regions, part="table"))
    print(f"\ninfluenza ({INFLUENZA}) incidents per district-year, before (PLAIN) → after (the table): " + ", ".join(
        f"seed {r['seed']} {r['influenza']['before']['per_district_year']} → {r['influenza']['after']['per_district_year']}"
        for r in regions))

    result = {"benchmark": "outbreak", "methods": [m.name for m in DEFAULT_METHODS] + [ALL],
              "incident_rule": {"gap": IncidentRule().gap}, "synthetic": synthetic, "calibration": calibration,
              "sd_floors": compared, "quiet": quiet, "before_after": before_after, "region": regions}
    (args.out / "outbreak.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
