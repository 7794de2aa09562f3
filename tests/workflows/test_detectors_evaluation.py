"""The detectors' evaluation (bench.outbreak): injected outbreaks with known answers, deterministic on a seed,
and the synthetic region's own norovirus cluster."""
from __future__ import annotations

import json
import random
import statistics

import pytest

from bench.outbreak import influenza, judge_region, main, region_counts
from bench.outbreak_synthetic import (
    ALL, WARMUP, Replicate, Scenario, evaluate, poisson, replicate, score_replicate, weights,
)
from hub.workflows.surveillance.detectors import DEFAULT_METHODS, CountSeries
from hub.workflows.surveillance.incidents import IncidentRule
from hub.workflows.surveillance.settings import PLAIN, settings_for


def test_outbreak_shapes_share_out_all_cases():
    assert weights("spike", 1) == [1.0]
    ramp = weights("ramp", 7)
    assert ramp == pytest.approx([i / 28 for i in range(1, 8)])  # 1 + 2 + … + 7 = 28
    curve = weights("lognormal", 14)
    assert sum(curve) == pytest.approx(1.0) and curve.index(max(curve)) < 7  # an early peak, a long tail


def test_poisson_draws_have_the_asked_mean():
    rng = random.Random(3)
    for mean in (0.2, 5.0, 90.0):
        draws = [poisson(rng, mean) for _ in range(4000)]
        assert statistics.fmean(draws) == pytest.approx(mean, rel=0.06)


def test_a_replicate_is_the_same_whatever_ran_before_and_holds_its_outbreak():
    scenario = Scenario(2.0, "ramp", 4.0)
    first = replicate(scenario, seed=9, number=3)
    replicate(Scenario(5.0, "spike", 2.0), seed=9, number=0)
    assert replicate(scenario, seed=9, number=3) == first
    assert WARMUP <= first.outbreak_start and first.outbreak_end - first.outbreak_start == 6
    assert first.injected > 0


def test_a_known_outbreak_is_scored_as_detected_and_a_lone_false_signal_as_a_false_alert():
    # 60 days of mean 2 / sd 1, a 3-day burst on days 40..42 and one stray high day on day 50
    counts = [1, 3, 1, 3, 1, 3, 2] * 9 + [1, 3]
    counts[40:43] = [12, 12, 12]
    counts[55] = 9
    rep = Replicate(CountSeries("SYN", "SYN", replicate(Scenario(1.0, "spike", 1.0), seed=1, number=0).series.start,
                                tuple(counts)), 40, 42, 30)
    scores = {}
    score_replicate(rep, DEFAULT_METHODS, IncidentRule(), scores)
    assert scores["C2"].detected == 1 and scores["C2"].delays == [0]
    assert scores[ALL].detected == 1 and scores[ALL].false_alerts == 1  # day 55 is an incident of its own


def test_the_evaluation_is_deterministic_on_its_seed():
    # one level, one strength, two replicates of each shape: 6 district-years, well under a second
    first = evaluate(seed=5, replicates=2, levels=(2.0,), strengths=(4.0,))
    assert evaluate(seed=5, replicates=2, levels=(2.0,), strengths=(4.0,)) == first
    assert first["scenarios"] == 3 and first["overall"][ALL]["outbreaks"] == 6
    # the figures of this seed (they change only when the detectors or the series do)
    assert {name: (s["detected"], s["false_alerts"]) for name, s in first["overall"].items()} == {
        "C1": (5, 23), "C2": (6, 21), "C3": (6, 40), "CUSUM": (5, 12), ALL: (6, 46)}
    assert evaluate(seed=6, replicates=2, levels=(2.0,), strengths=(4.0,)) != first


def test_the_small_regions_norovirus_cluster_is_detected():
    series, truth = region_counts(seed=20251205, size="small")
    assert truth["cases"] == 12 and truth["district"] in series
    assert sum(series[truth["district"]].counts) >= truth["cases"]
    judged = judge_region(series, truth)
    assert judged[ALL]["detected"] and judged[ALL]["days_after_first_case"] == 4  # CUSUM, on 5 February
    assert judged[ALL]["false_alerts"] == 0 and judged[ALL]["incidents"][0]["cluster"]


def test_the_command_writes_its_json(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--replicates", "1", "--levels", "2", "--size", "small",
                 "--region-seeds", "20251205"]) == 0
    result = json.loads((tmp_path / "outbreak.json").read_text(encoding="utf-8"))
    assert result["methods"] == ["C1", "C2", "C3", "CUSUM", ALL]
    assert result["region"][0]["methods"][ALL]["detected"]
    assert "| CUSUM |" in capsys.readouterr().out


def test_the_small_region_under_the_settings_table():
    # the hub's table (settings.DISEASES): the cluster as early as before (the CUSUM's, unchanged), and
    # influenza's quarter of winter no longer an alert every few weeks per district
    series, truth = region_counts(seed=20251205, size="small")
    table = settings_for("310")
    judged = judge_region(series, truth, methods=table.methods, rule=table.rule)
    assert judged[ALL]["detected"] and judged[ALL]["days_after_first_case"] == 4 and judged[ALL]["false_alerts"] == 0
    flu, _ = region_counts(seed=20251205, size="small", disease="301")
    before, after = influenza(flu, PLAIN)["per_district_year"], influenza(flu, settings_for("301"))["per_district_year"]
    assert (before, after) == (4.06, 1.35)  # 3 incidents in three districts × 90 days, then 1
