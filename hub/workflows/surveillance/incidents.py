"""Incidents, not floods: the signal days of one district × disease grouped into incidents.

Signal days at most ``gap`` quiet days apart belong to one incident; an incident ends once
``gap + 1`` days in a row have passed without a signal (``IncidentRule.quiet_days``), and a signal
after that opens a new one. The two numbers are one rule: a signal that would join an incident is
exactly one that comes before it has ended.

An incident's ``start`` is fixed on its first detection day (the earliest onset the methods that
fired that day point to) and never moves afterwards, so ``key`` (disease, district, start) names the
same incident every time the series is judged again with more days: the alert raised for it is
updated, not raised twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .detectors import DEFAULT_METHODS, CountSeries, Detector, DetectorSettingsError, SignalDay, signal_days


@dataclass(frozen=True)
class IncidentRule:
    """How signal days become incidents: at most ``gap`` quiet days inside one incident."""

    gap: int = 3

    def __post_init__(self):
        if self.gap < 0:
            raise DetectorSettingsError("an incident's gap is 0 or more days")

    @property
    def quiet_days(self) -> int:
        """Days without a signal after which an incident has ended."""
        return self.gap + 1


@dataclass(frozen=True)
class Incident:
    """One aberration of a district × disease: when it began, was first detected, last signalled and
    ended (None while it may still continue), the cases counted from start to last signal, and the
    methods that fired on any of its days."""

    disease: str
    district: str
    start: date
    detected: date
    last_signal: date
    end: date | None
    cases: int
    signal_days: int
    methods: tuple[str, ...]

    @property
    def key(self) -> str:
        """The alert's incident key: disease, district and start (stable as the incident grows)."""
        return f"{self.disease}:{self.district}:{self.start.isoformat()}"

    @property
    def ongoing(self) -> bool:
        return self.end is None


def group(series: CountSeries, days: Sequence[SignalDay], rule: IncidentRule = IncidentRule()) -> list[Incident]:
    """The incidents of ``series`` made of its signal ``days`` (in day order) under ``rule``."""
    runs: list[list[SignalDay]] = []
    for day in days:
        if runs and day.index - runs[-1][-1].index - 1 <= rule.gap:
            runs[-1].append(day)
        else:
            runs.append([day])
    last_index = len(series.counts) - 1
    incidents = []
    for run in runs:
        first, last = run[0], run[-1]
        methods = sorted({name for day in run for name in day.methods})
        ends = last.index + rule.quiet_days
        incidents.append(Incident(
            series.disease, series.district, series.day(first.onset), first.day, last.day,
            series.day(ends) if ends <= last_index else None,
            sum(series.counts[first.onset:last.index + 1]), len(run), tuple(methods)))
    return incidents


def incidents(series: CountSeries, *, methods: Sequence[Detector] = DEFAULT_METHODS,
              rule: IncidentRule = IncidentRule()) -> list[Incident]:
    """Series → incidents: the days ``methods`` flag, grouped under ``rule``."""
    return group(series, signal_days(series, methods), rule)


__all__ = ["Incident", "IncidentRule", "group", "incidents"]
