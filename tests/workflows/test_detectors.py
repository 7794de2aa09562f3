"""EARS C1, C2, C3 and the CUSUM on small series whose readings are computed by hand in the comments."""
from __future__ import annotations

import random
from datetime import date

import pytest

from hub.workflows.surveillance.detectors import (
    Baseline, CountSeries, Cusum, DetectorSettingsError, EarsC1, EarsC2, EarsC3, signal_days,
)

# Seven baseline days whose mean is 1 and whose sample sd is 1: deviations -1, +1, -1, +1, -1, +1, 0,
# squares summing to 6, 6 / (7 - 1) = 1. Every 7-day window of PATTERN repeated has mean 1 and sd 1, so
# neither floor of the sd (1, and the Poisson sd sqrt(mean) = 1) changes it.
PATTERN = [0, 2, 0, 2, 0, 2, 1]


def test_c1_is_the_day_against_the_seven_days_before():
    # day 7: (4 - 1) / 1 = 3.0, not above 3; day 7 = 5 instead: (5 - 1) / 1 = 4.0, a signal
    readings = EarsC1().evaluate(PATTERN + [4])
    assert readings[:7] == [None] * 7  # fewer than 7 baseline days: not judged
    assert readings[7].expected == pytest.approx(1.0) and readings[7].sd == pytest.approx(1.0)
    assert readings[7].statistic == pytest.approx(3.0) and not readings[7].signal
    six = EarsC1().evaluate(PATTERN + [5])[7]
    assert six.statistic == pytest.approx(4.0) and six.signal and six.onset == 7


def test_c2_keeps_a_two_day_guard_band():
    counts = PATTERN + [9, 9, 6]
    # C2, day 9: baseline days 0..6 (mean 1, sd 1), days 7 and 8 (9, 9) left out: (6 - 1) / 1 = 5 → signal
    c2 = EarsC2().evaluate(counts)[9]
    assert c2.statistic == pytest.approx(5.0) and c2.signal
    # C1, day 9: baseline days 2..8 = 0 2 0 2 1 9 9, mean 23 / 7 = 3.2857, sum of squares 171 - 23² / 7 = 95.43,
    # sd = sqrt(95.43 / 6) = 3.988; (6 - 3.2857) / 3.988 = 0.68: the outbreak's own days hide day 9 from C1
    c1 = EarsC1().evaluate(counts)[9]
    assert c1.statistic == pytest.approx((6 - 23 / 7) / ((171 - 23 ** 2 / 7) / 6) ** 0.5) and not c1.signal
    # day 8 needs days -1..5: only 6 baseline days, not judged
    assert EarsC2().evaluate(counts)[8] is None


# Days 0..8 = PATTERN + [0, 2]: the C2 baselines of days 9, 10, 11 (days 0..6, 1..7, 2..8) all have
# mean 1 and sd 1. Days 9, 10, 11 = 3, 2, 4 give C2 = 2, 1, 3 (none above 3).
RISING = PATTERN + [0, 2] + [3, 2, 4]


def test_c3_sums_the_c2_excesses_over_one_of_three_days():
    c2 = [r.statistic for r in EarsC2().evaluate(RISING)[9:]]
    assert c2 == pytest.approx([2.0, 1.0, 3.0])
    assert not any(r.signal for r in EarsC2().evaluate(RISING) if r)
    c3 = EarsC3().evaluate(RISING)
    # day 11: max(0, 2 - 1) + max(0, 1 - 1) + max(0, 3 - 1) = 1 + 0 + 2 = 3 > 2 → signal, from day 9
    assert c3[11].statistic == pytest.approx(3.0) and c3[11].signal and c3[11].onset == 9
    # day 10 needs C2 of day 8, which has no baseline: not judged
    assert c3[10] is None and c3[9] is None
    # C1 of day 11: baseline days 4..10 = 0 2 1 0 2 3 2, mean 10 / 7, s = sqrt((22 - 100 / 7) / 6) = 1.1339,
    # below the Poisson sd sqrt(10 / 7) = 1.1952, which it takes: (4 - 1.4286) / 1.1952 = 2.15
    c1 = EarsC1().evaluate(RISING)[11]
    assert c1.sd == pytest.approx((10 / 7) ** 0.5) and c1.statistic == pytest.approx((4 - 10 / 7) / (10 / 7) ** 0.5)


SHORT_CUSUM = Cusum(baseline=Baseline(days=7, guard=2, minimum=7), k=0.5, h=4.0)


def test_cusum_accumulates_standardized_counts_and_restarts_after_a_signal():
    # z of days 9, 10, 11 = 2, 1, 3 (the C2 baselines above); S9 = 0 + 2 - 0.5 = 1.5; S10 = 1.5 + 1 - 0.5 = 2.0;
    # S11 = 2.0 + 3 - 0.5 = 4.5 > 4 → signal, its run began on day 9
    readings = SHORT_CUSUM.evaluate(RISING + [3])
    assert [r.statistic for r in readings[9:12]] == pytest.approx([1.5, 2.0, 4.5])
    assert [r.signal for r in readings[9:12]] == [False, False, True] and readings[11].onset == 9
    # day 12 (3): baseline days 3..9 = 2 0 2 1 0 2 3, mean 10 / 7, sd the Poisson sd sqrt(10 / 7) = 1.1952 (s is
    # 1.1339); z = (3 - 1.4286) / 1.1952 = 1.3148; after the reset S12 = 0 + 1.3148 - 0.5 = 0.8148: no signal
    z12 = (3 - 10 / 7) / (10 / 7) ** 0.5
    assert readings[12].statistic == pytest.approx(z12 - 0.5) and not readings[12].signal
    # kept running instead: S12 = 4.5 + 0.8148 = 5.3148 > 4, still in alarm
    running = Cusum(baseline=SHORT_CUSUM.baseline, reset=False).evaluate(RISING + [3])
    assert running[12].statistic == pytest.approx(4.5 + z12 - 0.5) and running[12].signal and running[12].onset == 9


def test_a_zero_variance_baseline_uses_the_sd_floors():
    # seven zeros: s = 0, sqrt(0) = 0 → sd = 1 (the fixed floor): 3 cases read 3.0 (not above 3), 4 read 4.0
    zeros = [EarsC1().evaluate([0] * 7 + [x])[7] for x in (3, 4, 0)]
    assert [r.statistic for r in zeros] == pytest.approx([3.0, 4.0, 0.0]) and [r.signal for r in zeros] == [
        False, True, False]
    # seven fours: s = 0 → sd = sqrt(4) = 2 (the Poisson floor): (10 - 4) / 2 = 3.0, (11 - 4) / 2 = 3.5
    fours = [EarsC1().evaluate([4] * 7 + [x])[7] for x in (10, 11)]
    assert [r.statistic for r in fours] == pytest.approx([3.0, 3.5]) and fours[0].sd == 2.0
    # the floors are settings: 0.5 and no Poisson floor make (3 - 2) / 0.5 = 2 of one case over seven twos
    loose = EarsC1(baseline=Baseline(min_sd=0.5, poisson_sd=0.0)).evaluate([2] * 7 + [3])[7]
    assert loose.sd == 0.5 and loose.statistic == pytest.approx(2.0)


def test_too_short_a_series_is_never_judged_and_is_not_an_error():
    series = CountSeries.from_days(disease="310", district="330106",
                                   days={date(2025, 1, 1): 0, date(2025, 1, 6): 40})
    assert len(series.counts) == 6 and series.counts[-1] == 40
    for method in (EarsC1(), EarsC2(), EarsC3(), Cusum()):
        assert method.evaluate(series.counts) == [None] * 6
    assert signal_days(series) == []


def test_a_shorter_baseline_is_used_once_it_holds_the_minimum():
    # a 28-day CUSUM baseline with minimum 7: day 9 uses days 0..6 (all there is before its guard band)
    readings = Cusum().evaluate(RISING)
    assert readings[8] is None and readings[9].expected == pytest.approx(1.0)


def test_a_series_is_dense_between_its_start_and_end():
    series = CountSeries.from_days(disease="310", district="330106", start=date(2025, 1, 1), end=date(2025, 1, 4),
                                   days={date(2025, 1, 2): 3, date(2024, 12, 31): 9})
    assert series.counts == (0, 3, 0, 0) and series.end == date(2025, 1, 4) and series.day(1) == date(2025, 1, 2)


@pytest.mark.parametrize("build", [lambda: Baseline(days=7, minimum=8), lambda: Baseline(min_sd=0),
                                   lambda: Cusum(h=0), lambda: Baseline(guard=-1)])
def test_impossible_parameters_are_refused_with_a_code(build):
    with pytest.raises(DetectorSettingsError) as caught:
        build()
    assert caught.value.code == "workflow.detector.settings"


def test_the_running_sums_give_the_figures_of_the_plain_window():
    rng = random.Random(21)
    counts = [rng.choice((0, 0, 1, 2, 3, 7, 40)) for _ in range(120)]
    for baseline in (Baseline(), Baseline(days=28, guard=2, minimum=7), Baseline(min_sd=0.2, poisson_sd=0.0)):
        fast = baseline.along(counts)
        for t, stats in enumerate(fast):
            plain = baseline.at(counts, t)
            assert (stats is None) == (plain is None)
            if stats is not None:
                assert stats == pytest.approx(plain, rel=1e-9, abs=1e-9)
