"""A weekday-aware baseline: EARS with a day-of-week adjustment (docs/workflows.md, "The weekday").

Clinics see fewer patients at weekends, so a disease with tens of cases a day has a weekly pattern
that a plain 7-day baseline reads as aberrations (every Monday above a weekend-heavy window). Here
each day's count is divided by its weekday's **factor** before the baseline's mean and sd are taken,
and the day judged is compared with ``mean × its own factor``:

- the factors are estimated from the ``weeks`` whole weeks of counts that end where the baseline
  ends (``guard`` days before the day judged: only days before it, so a reading never changes when
  later days are appended), per weekday class (index mod 7 — the calendar is not needed, the data
  say which class is the quiet one):
  ``f[d] = (S[d] + prior) / (n[d] × mean + prior)``, ``S[d]`` the class's cases in that window,
  ``n[d]`` its days, ``mean`` the window's daily mean. ``prior`` pseudo-cases pull each factor toward
  1, so a series of a few cases a week has no pattern to find and is judged as by the plain baseline;
- the baseline's days ``y[i] = x[i] / f[d(i)]``: mean ``m``, sample sd ``s``; for day ``t``
  ``expected = m × f[d(t)]`` and ``sd = max(s × f[d(t)], min_sd, poisson_sd × sqrt(expected))``.

The methods' statistics are unchanged (``(x - expected) / sd``): only the baseline differs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .detectors import Baseline, DetectorSettingsError

WEEK = 7


@dataclass(frozen=True)
class WeekdayBaseline(Baseline):
    """A ``Baseline`` whose days are divided by their weekday's factor (estimated over ``weeks`` weeks)."""

    weeks: int = 8        # whole weeks of counts, ending where the baseline ends, that estimate the factors
    prior: float = 30.0   # pseudo-cases per weekday that pull its factor toward 1 (few cases: no pattern)

    def __post_init__(self):
        super().__post_init__()
        if self.weeks < 1 or self.prior <= 0:
            raise DetectorSettingsError("a weekday baseline needs weeks >= 1 and a prior above 0")

    def factors(self, counts: Sequence[int], t: int) -> list[float]:
        """The seven weekday factors seen from day ``t`` (index ``i`` has factor ``[i % 7]``)."""
        stop = t - self.guard
        first = max(0, stop - self.weeks * WEEK)
        sums, days = [0.0] * WEEK, [0] * WEEK
        for i in range(first, stop):
            sums[i % WEEK] += counts[i]
            days[i % WEEK] += 1
        return _factors(sums, days, self.prior)

    def at(self, counts: Sequence[int], t: int) -> tuple[float, float] | None:
        """(expected count of day ``t``, floored sd): the plain computation, one day at a time."""
        stop = t - self.guard
        first = max(0, stop - self.days)
        n = stop - first
        if n < self.minimum:
            return None
        factor = self.factors(counts, t)
        adjusted = [counts[i] / factor[i % WEEK] for i in range(first, stop)]
        mean = sum(adjusted) / n
        variance = sum((y - mean) ** 2 for y in adjusted) / (n - 1)
        return self._scaled(mean, variance, factor[t % WEEK])

    def along(self, counts: Sequence[int]) -> list[tuple[float, float] | None]:
        """``at`` for every day at once: running sums per weekday class, seven terms a day."""
        # prefix[d][k]: the cases (and squares) of class d among days 0 .. k-1
        sums = [[0.0] * (len(counts) + 1) for _ in range(WEEK)]
        squares = [[0.0] * (len(counts) + 1) for _ in range(WEEK)]
        for k, x in enumerate(counts):
            for d in range(WEEK):
                sums[d][k + 1] = sums[d][k]
                squares[d][k + 1] = squares[d][k]
            sums[k % WEEK][k + 1] += x
            squares[k % WEEK][k + 1] += x * x
        span = self.weeks * WEEK
        out: list[tuple[float, float] | None] = []
        for t in range(len(counts)):
            stop = t - self.guard
            first = max(0, stop - self.days)
            n = stop - first
            if n < self.minimum:
                out.append(None)
                continue
            since = max(0, stop - span)
            factor = _factors([sums[d][stop] - sums[d][since] for d in range(WEEK)],
                              [_class_days(d, since, stop) for d in range(WEEK)], self.prior)
            total = sum((sums[d][stop] - sums[d][first]) / factor[d] for d in range(WEEK))
            square = sum((squares[d][stop] - squares[d][first]) / factor[d] ** 2 for d in range(WEEK))
            mean = total / n
            out.append(self._scaled(mean, max(0.0, (square - total * mean) / (n - 1)), factor[t % WEEK]))
        return out

    def _scaled(self, mean: float, variance: float, factor: float) -> tuple[float, float]:
        expected = mean * factor
        return expected, self._floored(math.sqrt(variance) * factor, expected)


def _class_days(d: int, first: int, stop: int) -> int:
    """How many indices ``i`` with ``first <= i < stop`` have ``i % 7 == d``."""
    return (stop - d + WEEK - 1) // WEEK - (first - d + WEEK - 1) // WEEK


def _factors(sums: Sequence[float], days: Sequence[int], prior: float) -> list[float]:
    """Each class's cases over what the window's mean predicts for its days, both plus ``prior``."""
    n = sum(days)
    mean = sum(sums) / n if n else 0.0
    return [(s + prior) / (k * mean + prior) for s, k in zip(sums, days)]

__all__ = ["WEEK", "WeekdayBaseline"]
