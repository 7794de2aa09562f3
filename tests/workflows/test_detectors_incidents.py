"""Signal days grouped into incidents: one per outbreak, a start that never moves, per-disease thresholds."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.workflows.surveillance.detectors import CountSeries, DetectorSettingsError, SignalDay, signal_days
from hub.workflows.surveillance.incidents import IncidentRule, group, incidents
from hub.workflows.surveillance.settings import DetectorSettings, settings_for

PATTERN = [0, 2, 0, 2, 0, 2, 1]  # every 7-day window: mean 1, sd 1
BURST = [10, 12, 14, 12, 10]     # a 5-day outbreak, 8 to 12 sd above the baseline
JAN_1 = date(2025, 1, 1)


def _series(counts) -> CountSeries:
    return CountSeries("310", "330106", JAN_1, tuple(counts))


def test_a_five_day_outbreak_that_every_method_flags_is_one_incident():
    series = _series(PATTERN * 4 + BURST + PATTERN * 2)  # the burst on days 28..32 (29 January … 2 February)
    days = signal_days(series)
    assert days[0].index == 28 and days[0].methods == ("C1", "C2", "C3", "CUSUM")
    found = incidents(series)
    assert len(found) == 1
    incident = found[0]
    # the CUSUM's run began on day 26 (2 cases over a 24-day baseline of mean 23 / 24: z = 1.04, S = 0.54, and
    # day 27 kept it above 0): the start the first detection points to
    assert incident.start == date(2025, 1, 27) and incident.detected == date(2025, 1, 29)
    # C3 still sums the burst's last two days on day 33 (0 cases): the last signal day
    assert incident.last_signal == date(2025, 2, 3) and incident.signal_days == 6
    assert incident.end == date(2025, 2, 3) + timedelta(days=4)  # gap 3: four quiet days end it
    assert incident.cases == 2 + 1 + sum(BURST) + 0  # days 26..33
    assert incident.methods == ("C1", "C2", "C3", "CUSUM")
    assert incident.key == "310:330106:2025-01-27"


def test_two_separated_bursts_are_two_incidents():
    series = _series(PATTERN * 4 + BURST + PATTERN * 3 + BURST + PATTERN * 2)
    found = incidents(series)
    assert [(i.detected, i.ongoing) for i in found] == [(date(2025, 1, 29), False), (date(2025, 2, 24), False)]
    assert len({i.key for i in found}) == 2


def test_the_incident_start_never_moves_as_days_are_added():
    full = PATTERN * 4 + BURST + PATTERN * 2
    keys = set()
    for last in range(28, len(full)):
        found = incidents(_series(full[:last + 1]))
        assert len(found) == 1
        keys.add(found[0].key)
        # ongoing until four quiet days have passed after its last signal day (day 33)
        assert found[0].ongoing == (last < 33 + 4)
    assert keys == {"310:330106:2025-01-27"}


def _day(index: int, *methods: str) -> SignalDay:
    return SignalDay(index, JAN_1 + timedelta(days=index), 5, methods or ("C1",), index)


def test_signal_days_within_the_gap_are_one_incident_beyond_it_two():
    series = _series([5] * 30)
    # days 10 and 14: three quiet days between (11, 12, 13) → one incident under gap 3
    one = group(series, [_day(10), _day(14, "CUSUM")], IncidentRule(gap=3))
    assert len(one) == 1 and one[0].methods == ("C1", "CUSUM") and one[0].cases == 25
    assert one[0].end == JAN_1 + timedelta(days=18)
    # days 10 and 15: four quiet days → the first incident had ended, a second begins
    two = group(series, [_day(10), _day(15)], IncidentRule(gap=3))
    assert [i.start for i in two] == [JAN_1 + timedelta(days=10), JAN_1 + timedelta(days=15)]
    # gap 0: only consecutive days join
    assert len(group(series, [_day(10), _day(11), _day(13)], IncidentRule(gap=0))) == 2
    # an incident whose quiet days run past the series' end is still going on
    assert group(series, [_day(27)], IncidentRule(gap=3))[0].ongoing


def test_no_signal_no_incident():
    assert incidents(_series(PATTERN * 6)) == []


def test_thresholds_per_disease_come_from_the_table():
    table = {"310": {"C1": 5.0, "CUSUM": 8}}
    settings = settings_for("310", table=table)
    assert settings.c1.threshold == 5.0 and settings.cusum.h == 8.0 and settings.c2.threshold == 3.0
    assert settings_for("301", table=table) == DetectorSettings()
    # a day 4 sd above its baseline ((5 - 1) / 1) flags C1 at the default 3, not at 310's 5
    counts = PATTERN * 2 + [5]
    default_c1 = DetectorSettings().c1.evaluate(counts)[-1]
    strict_c1 = settings.c1.evaluate(counts)[-1]
    assert default_c1.statistic == pytest.approx(4.0) and default_c1.signal and not strict_c1.signal
    with pytest.raises(DetectorSettingsError):
        settings_for("310", table={"310": {"C9": 1.0}})
    with pytest.raises(DetectorSettingsError):
        IncidentRule(gap=-1)
