"""The weekday-aware baseline and the settings per disease, on series with known answers: a weekday
pattern is no outbreak, influenza's season is one incident, a weekend spike is still one, the table's
overrides are used and a bad table is refused (docs/workflows.md, "Settings per disease")."""
from __future__ import annotations

import random
from datetime import date

import pytest

from bench.outbreak_synthetic import CLINIC_WEEKLY, poisson
from hub.workflows.surveillance.detectors import Baseline, CountSeries, DetectorSettingsError
from hub.workflows.surveillance.detectors_weekday import WeekdayBaseline
from hub.workflows.surveillance.incidents import incidents
from hub.workflows.surveillance.settings import DISEASES, PLAIN, SETTINGS, settings_for, settings_table

MONDAY = date(2025, 3, 3)


def _found(counts, settings, disease="310", start=MONDAY):
    return incidents(CountSeries(disease, "330106", start, tuple(counts)), methods=settings.methods,
                     rule=settings.rule)


def _clinic_weeks(seed: int, weeks: int, level: float = 20.0) -> list[int]:
    """Poisson counts with a clinic's week (weekends 0.75 and 0.65 of the mean) and nothing else."""
    rng = random.Random(seed)
    return [poisson(rng, level * CLINIC_WEEKLY[i % 7]) for i in range(7 * weeks)]


def test_the_factors_find_the_quiet_days_and_scale_the_expected_count():
    # eight weeks of exactly 12 a weekday and 4 at the weekend: mean 68 / 7; Saturday's factor
    # (8 × 4 + 30) / (8 × 68 / 7 + 30) = 62 / 107.71 = 0.576, Monday's (96 + 30) / 107.71 = 1.170
    week = [12, 12, 12, 12, 12, 4, 4]
    counts = week * 8 + [12]
    factors = WeekdayBaseline().factors(counts, 56)
    assert factors[5] == pytest.approx(62 / (8 * 68 / 7 + 30)) and factors[0] == pytest.approx(126 / (8 * 68 / 7 + 30))
    expected, _ = WeekdayBaseline().at(counts, 56)
    # the adjusted days of the last week all read (about) one figure; times Monday's factor
    adjusted = [x / factors[i % 7] for i, x in zip(range(49, 56), week[0:7])]
    assert expected == pytest.approx(sum(adjusted) / 7 * factors[0])
    # a few cases a week: the prior keeps every factor near 1 (no pattern to read in 8 weeks of 3 cases a week)
    sparse = WeekdayBaseline().factors([1, 1, 1, 0, 0, 0, 0] * 8, 56)
    assert all(0.85 < f < 1.2 for f in sparse)


def test_the_running_sums_give_the_figures_of_the_plain_computation():
    rng = random.Random(7)
    counts = [rng.choice((0, 1, 2, 5, 9, 30)) for _ in range(150)]
    for baseline in (WeekdayBaseline(), WeekdayBaseline(days=28, guard=2, minimum=7, weeks=4, prior=2.0)):
        for t, stats in enumerate(baseline.along(counts)):
            plain = baseline.at(counts, t)
            assert (stats is None) == (plain is None)
            if stats is not None:
                assert stats == pytest.approx(plain, rel=1e-9, abs=1e-9)


def test_a_pure_weekday_pattern_raises_nothing():
    # without noise: the weekday baseline expects each day's own level
    assert _found([30, 28, 26, 25, 25, 12, 10] * 20, SETTINGS["default"]) == []
    # with Poisson noise (20 cases a day, twelve 20-week series): the published EARS settings on the plain
    # window raise 34 incidents where there is nothing but the week; the defaults 23, none in seed 7's
    plain = [len(_found(_clinic_weeks(seed, 20), PLAIN)) for seed in range(12)]
    default = [len(_found(_clinic_weeks(seed, 20), settings_for("310"))) for seed in range(12)]
    assert (sum(plain), sum(default)) == (34, 23)
    assert plain[7] == 1 and default[7] == 0


def test_influenzas_seasonal_rise_is_one_incident_not_many():
    # influenza's season as the region plans it: a level per month (September … January), tripling from
    # October to December, with a clinic's week
    levels = [5] * 30 + [6] * 31 + [10] * 30 + [25] * 31 + [30] * 31
    for seed in range(5):
        rng = random.Random(seed)
        counts = [poisson(rng, level * CLINIC_WEEKLY[i % 7]) for i, level in enumerate(levels)]
        season = _found(counts, settings_for("301"), disease="301", start=date(2025, 9, 1))
        assert len(season) == 1 and season[0].detected.month in (11, 12)  # the season's onset, once
        assert len(_found(counts, PLAIN, disease="301")) >= 5  # before: five to seven incidents


def test_a_spike_on_a_weekend_is_still_found():
    week = [30, 28, 26, 25, 25, 12, 10]
    counts = week * 10
    counts[7 * 9 + 6] = 30  # a Sunday of 30 where 10 are usual: an ordinary Monday's count
    found = _found(counts, settings_for("310"))
    assert [(i.detected, i.methods) for i in found] == [(date(2025, 5, 11), ("C1", "C2", "C3"))]
    assert date(2025, 5, 11).weekday() == 6


def test_the_table_gives_each_disease_its_settings():
    assert DISEASES["default"]["weekday"] is True and settings_for("310").weekday
    flu = settings_for("301")
    assert (flu.c1.threshold, flu.c3.threshold, flu.cusum.h, flu.rule.gap) == (5.0, 5.0, 8.0, 28)
    assert flu.weekday  # the default's weekday baseline, not overridden
    assert settings_for("999") == SETTINGS["default"]  # a disease without an entry: the default
    table = {"default": {"weekday": False}, "310": {"C1": 9.0, "gap": 0}}
    own = settings_for("310", table=table)
    assert own.c1.threshold == 9.0 and own.c2.threshold == 3.0 and own.rule.gap == 0
    assert type(own.c1.baseline) is Baseline and settings_for("311", table=table) == PLAIN
    # the override is what judges: a 4-sd day flags C1 under the default, not under 310's own 9
    counts = [0, 2, 0, 2, 0, 2, 1] * 2 + [5]
    assert PLAIN.c1.evaluate(counts)[-1].signal and not own.c1.evaluate(counts)[-1].signal


@pytest.mark.parametrize("table", [
    {"301": {"C1": -1.0}}, {"301": {"CUSUM": 0}}, {"301": {"C2": float("nan")}}, {"301": {"C9": 3.0}},
    {"301": {"gap": 2.5}}, {"301": {"gap": -1}}, {"301": {"weekday": "yes"}}, {"influenza": {"C1": 4.0}},
    {"default": {"C3": "2"}}])
def test_a_bad_table_is_refused_with_a_code(table):
    with pytest.raises(DetectorSettingsError) as caught:
        settings_table(table)
    assert caught.value.code == "workflow.detector.settings"


def test_the_hubs_own_table_is_valid():
    assert settings_table(DISEASES) == SETTINGS
