"""Outbreak detectors over a daily count series: the CDC's EARS C1, C2, C3 and a one-sided CUSUM.

Pure functions of the counts (docs/workflows.md, "Outbreak detection", gives the formulas and their
sources). Every detector reads only the days before (and on) the day it judges, so a day's reading
never changes when later days are appended; the incident built from the readings keeps its start.

Day ``t`` of a series with counts ``x``:

- **baseline**: the ``days`` counts that end ``guard`` days before ``t`` (C1: t-7 … t-1; C2 and C3:
  t-9 … t-3), their mean ``m`` and sample standard deviation ``s`` (n - 1 denominator), and
  ``sd = max(s, min_sd, poisson_sd × sqrt(m))`` (defaults 1 and 1: at least one case, and at least a
  Poisson count's sd, which seven days' ``s`` often underestimates); fewer than ``minimum`` baseline
  days (the series' first days): no reading, never an error.
- **C1, C2**: ``(x[t] - m) / sd``; a signal when above the threshold (3).
- **C3**: ``sum(max(0, C2[i] - 1) for i in t-2, t-1, t)``; a signal when above the threshold (2).
- **CUSUM**: ``S[t] = max(0, S[t-1] + (x[t] - m) / sd - k)`` against days t-30 … t-3 (28 days, at least
  7); a signal when ``S[t] > h``, after which ``S`` restarts at 0 (``reset``; kept running when
  ``reset=False``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar, Protocol


class DetectorSettingsError(ValueError):
    """A detector's or an incident rule's parameters are impossible (a configuration mistake)."""

    code = "workflow.detector.settings"

    def __init__(self, detail: str):
        super().__init__(f"{self.code}: {detail}")
        self.detail = detail


@dataclass(frozen=True)
class CountSeries:
    """Daily counts of one disease in one district, one a day from ``start`` (a day not reported is 0)."""

    disease: str
    district: str
    start: date
    counts: tuple[int, ...]

    @classmethod
    def from_days(cls, *, disease: str, district: str, days: Mapping[date, int], start: date | None = None,
                  end: date | None = None) -> CountSeries:
        """The dense series of ``days`` (date → count) from ``start`` to ``end`` (default: the first and
        last dates given); counts outside the span are left out."""
        if not days and (start is None or end is None):
            raise DetectorSettingsError("an empty series needs its start and end")
        start = start or min(days)
        end = end or max(days)
        if end < start:
            raise DetectorSettingsError("a series ends before it starts")
        counts = [0] * ((end - start).days + 1)
        for day, count in days.items():
            if start <= day <= end:
                counts[(day - start).days] += count
        return cls(disease, district, start, tuple(counts))

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.counts) - 1)

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)


@dataclass(frozen=True)
class Reading:
    """One day's judgement by one detector. ``onset`` is the index of the first day of the aberration
    it sees (the day itself for C1 and C2; the first of the three days that add to C3; the first day of
    the CUSUM's current run)."""

    expected: float
    sd: float
    statistic: float
    signal: bool
    onset: int


@dataclass(frozen=True)
class Baseline:
    """The sliding window a day is compared with: ``days`` counts ending ``guard`` days before it."""

    days: int = 7
    guard: int = 0
    minimum: int = 7     # baseline days needed for a reading (fewer: the day is not judged)
    min_sd: float = 1.0  # the floor of the standard deviation (a baseline of equal counts has s = 0)
    poisson_sd: float = 1.0  # and at least this many times a Poisson count's sd, sqrt(mean) (0: no such floor)

    def __post_init__(self):
        if not (2 <= self.minimum <= self.days) or self.guard < 0:
            raise DetectorSettingsError("a baseline needs 2 <= minimum <= days and guard >= 0")
        if not self.min_sd > 0 or self.poisson_sd < 0:
            raise DetectorSettingsError("the standard deviation's floors: min_sd above 0, poisson_sd 0 or more")

    def at(self, counts: Sequence[int], t: int) -> tuple[float, float] | None:
        """(mean, floored sd) of the baseline of day ``t``, or None when it holds too few days."""
        stop = t - self.guard
        first = max(0, stop - self.days)
        n = stop - first
        if n < self.minimum:
            return None
        window = counts[first:stop]
        mean = sum(window) / n
        variance = sum((x - mean) ** 2 for x in window) / (n - 1)
        return mean, self._floored(math.sqrt(variance), mean)

    def _floored(self, sd: float, mean: float) -> float:
        return max(sd, self.min_sd, self.poisson_sd * math.sqrt(mean)) if self.poisson_sd else max(sd, self.min_sd)

    def along(self, counts: Sequence[int]) -> list[tuple[float, float] | None]:
        """``at`` for every day of ``counts`` at once (running sums: the same figures, one pass)."""
        sums, squares = [0.0], [0.0]
        for x in counts:
            sums.append(sums[-1] + x)
            squares.append(squares[-1] + x * x)
        out: list[tuple[float, float] | None] = []
        for t in range(len(counts)):
            stop = t - self.guard
            first = max(0, stop - self.days)
            n = stop - first
            if n < self.minimum:
                out.append(None)
                continue
            total = sums[stop] - sums[first]
            mean = total / n
            # integer counts keep both sums exact; clamp the rounding of a flat window at 0
            variance = max(0.0, (squares[stop] - squares[first] - total * mean) / (n - 1))
            out.append((mean, self._floored(math.sqrt(variance), mean)))
        return out


class Detector(Protocol):
    """What every detector offers: a name (the method that fired) and one reading per day."""

    name: ClassVar[str]

    def evaluate(self, counts: Sequence[int]) -> list[Reading | None]: ...


def _shewhart(counts: Sequence[int], baseline: Baseline, threshold: float) -> list[Reading | None]:
    readings: list[Reading | None] = []
    for t, (x, stats) in enumerate(zip(counts, baseline.along(counts))):
        if stats is None:
            readings.append(None)
            continue
        mean, sd = stats
        value = (x - mean) / sd
        readings.append(Reading(mean, sd, value, value > threshold, t))
    return readings


@dataclass(frozen=True)
class EarsC1:
    """EARS C1-MILD: the day against the 7 days just before it."""

    name: ClassVar[str] = "C1"
    baseline: Baseline = Baseline(days=7, guard=0, minimum=7)
    threshold: float = 3.0

    def evaluate(self, counts: Sequence[int]) -> list[Reading | None]:
        return _shewhart(counts, self.baseline, self.threshold)


@dataclass(frozen=True)
class EarsC2:
    """EARS C2-MEDIUM: the day against days t-9 … t-3 (a 2-day guard band keeps a rising outbreak's
    first days out of its own baseline)."""

    name: ClassVar[str] = "C2"
    baseline: Baseline = Baseline(days=7, guard=2, minimum=7)
    threshold: float = 3.0

    def evaluate(self, counts: Sequence[int]) -> list[Reading | None]:
        return _shewhart(counts, self.baseline, self.threshold)


@dataclass(frozen=True)
class EarsC3:
    """EARS C3-HIGH: the C2 excesses over ``offset`` of the day and the two before, summed."""

    name: ClassVar[str] = "C3"
    c2: EarsC2 = EarsC2()
    offset: float = 1.0
    span: int = 3
    threshold: float = 2.0

    def evaluate(self, counts: Sequence[int]) -> list[Reading | None]:
        c2 = self.c2.evaluate(counts)
        readings: list[Reading | None] = []
        for t in range(len(counts)):
            days = range(t - self.span + 1, t + 1)
            if days.start < 0 or any(c2[i] is None for i in days):
                readings.append(None)
                continue
            terms = [max(0.0, c2[i].statistic - self.offset) for i in days]
            value = sum(terms)
            onset = next((i for i, term in zip(days, terms) if term > 0), t)
            readings.append(Reading(c2[t].expected, c2[t].sd, value, value > self.threshold, onset))
        return readings


@dataclass(frozen=True)
class Cusum:
    """One-sided CUSUM of the standardized counts ``z = (x - m) / sd`` against a sliding baseline."""

    name: ClassVar[str] = "CUSUM"
    baseline: Baseline = Baseline(days=28, guard=2, minimum=7)
    k: float = 0.5       # reference value: the shift (in sd) below which nothing accumulates
    h: float = 4.0       # decision threshold
    reset: bool = True   # restart at 0 after a signal (False: keep accumulating while in alarm)

    def __post_init__(self):
        if self.k < 0 or self.h <= 0:
            raise DetectorSettingsError("a CUSUM needs k >= 0 and h > 0")

    def evaluate(self, counts: Sequence[int]) -> list[Reading | None]:
        readings: list[Reading | None] = []
        total, run = 0.0, 0
        for t, (x, stats) in enumerate(zip(counts, self.baseline.along(counts))):
            if stats is None:
                readings.append(None)
                continue
            mean, sd = stats
            previous = total
            total = max(0.0, total + (x - mean) / sd - self.k)
            if previous == 0.0:
                run = t  # a run starts on the first day the sum leaves zero
            signal = total > self.h
            readings.append(Reading(mean, sd, total, signal, run))
            if signal and self.reset:
                total = 0.0
        return readings


DEFAULT_METHODS: tuple[Detector, ...] = (EarsC1(), EarsC2(), EarsC3(), Cusum())


@dataclass(frozen=True)
class SignalDay:
    """A day on which at least one method fired: which, and the earliest onset they point to."""

    index: int
    day: date
    count: int
    methods: tuple[str, ...]
    onset: int


def signal_days(series: CountSeries, methods: Sequence[Detector] = DEFAULT_METHODS) -> list[SignalDay]:
    """The days of ``series`` on which any of ``methods`` signals, in day order."""
    fired: dict[int, list[tuple[str, int]]] = {}
    for method in methods:
        for t, reading in enumerate(method.evaluate(series.counts)):
            if reading is not None and reading.signal:
                fired.setdefault(t, []).append((method.name, reading.onset))
    return [SignalDay(t, series.day(t), series.counts[t], tuple(name for name, _ in hits),
                      min(onset for _, onset in hits))
            for t, hits in sorted(fired.items())]


__all__ = ["Baseline", "CountSeries", "Cusum", "DEFAULT_METHODS", "Detector", "DetectorSettingsError", "EarsC1",
           "EarsC2", "EarsC3", "Reading", "SignalDay", "signal_days"]
