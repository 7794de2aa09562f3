"""Synthetic daily series with injected outbreaks and known answers, and the detectors scored on them.

A replicate is one district-year of one disease: ``WARMUP`` days that fill the baselines (never
judged), then 365 judged days. Baseline counts are Poisson with mean ``level × WEEKLY[weekday]``;
one outbreak of a ``Scenario``'s shape is added at a random start inside the year: extra cases,
Poisson with mean ``size × weight[day]``, ``size = strength × sqrt(level) × duration`` (on average
``strength`` baseline standard deviations a day above the baseline). Everything is drawn from
``random.Random`` seeded by (seed, scenario, replicate) alone, so a replicate is the same whatever
else runs.

Per method (and ``ALL``, the four as the workflow runs them): an outbreak is detected when a signal
falls within its span (start … start + duration - 1); days to detection count from its start (0: the
first day); a false alert is an incident (``hub.workflows.surveillance.incidents``) whose detection
… last signal days miss the outbreak's span.
"""
from __future__ import annotations

import dataclasses
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from hub.workflows.surveillance.detectors import DEFAULT_METHODS, CountSeries, Detector, SignalDay
from hub.workflows.surveillance.incidents import IncidentRule, group

WARMUP, YEAR_DAYS = 35, 365
START = date(2025, 1, 6) # a Monday: day i's weekday is i % 7
WEEKLY = (1.15, 1.1, 1.05, 1.0, 1.0, 0.8, 0.9)  # Monday … Sunday (reports by diagnosis day), mean 1
# a clinic's week (community centres half-staffed at weekends): the stronger pattern the weekday baseline is for
CLINIC_WEEKLY = (1.25, 1.15, 1.1, 1.05, 1.05, 0.75, 0.65)
LEVELS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)  # baseline cases a day
SHAPES = {"spike": 1, "ramp": 7, "lognormal": 14}  # shape → duration in days
STRENGTHS = (2.0, 4.0)
SEASON = 0.5  # a winter season: the level times 1 + SEASON × cos(2π (day - SEASON_PEAK) / 365)
SEASON_PEAK = 20  # the judged year's day of the season's top (late January)
ALL = "ALL"


@dataclass(frozen=True)
class Scenario:
    level: float
    shape: str
    strength: float

    @property
    def duration(self) -> int:
        return SHAPES[self.shape]

    @property
    def label(self) -> str:
        return f"{self.level:g}/{self.shape}/{self.strength:g}"


def scenarios(levels: Sequence[float] = LEVELS, strengths: Sequence[float] = STRENGTHS) -> list[Scenario]:
    return [Scenario(level, shape, strength) for level in levels for shape in SHAPES for strength in strengths]


def weights(shape: str, duration: int) -> list[float]:
    """The share of an outbreak's cases on each of its days."""
    if shape == "spike":
        raw = [1.0] * duration
    elif shape == "ramp":  # linear growth: 1, 2, …, duration
        raw = [float(i + 1) for i in range(duration)]
    elif shape == "lognormal":  # an incubation curve (Sartwell): median a third of the span, log-sd 0.6
        mu, sigma = math.log(duration / 3), 0.6

        def cdf(x: float) -> float:
            return 0.0 if x <= 0 else 0.5 * (1 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2))))
        raw = [cdf(i + 1) - cdf(i) for i in range(duration)]
    else:
        raise ValueError(f"unknown outbreak shape {shape!r}")
    total = sum(raw)
    return [w / total for w in raw]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's product method; means here stay below ~120)."""
    if mean <= 0:
        return 0
    if mean > 60:  # exp(-mean) underflows the product's precision long before here; split the mean
        return poisson(rng, mean / 2) + poisson(rng, mean / 2)
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


@dataclass(frozen=True)
class Replicate:
    series: CountSeries
    outbreak_start: int   # index of the outbreak's first day
    outbreak_end: int     # index of its last day
    injected: int         # extra cases drawn


def seasonal(day: int, season: float) -> float:
    """The season's factor on index ``day`` of a replicate (mean 1 over the judged year)."""
    return 1.0 + season * math.cos(2 * math.pi * (day - WARMUP - SEASON_PEAK) / YEAR_DAYS)


def replicate(scenario: Scenario, *, seed: int, number: int, season: float = 0.0,
              weekly: Sequence[float] = WEEKLY) -> Replicate:
    """One district-year of ``scenario`` with its outbreak, deterministic from (seed, scenario, number);
    ``season`` > 0 adds a winter season to the weekly pattern (0: none, the series before it was added)."""
    rng = random.Random(f"{seed}:{scenario.label}:{number}")
    days = WARMUP + YEAR_DAYS
    counts = [poisson(rng, scenario.level * weekly[i % 7] * (seasonal(i, season) if season else 1.0))
              for i in range(days)]
    first = WARMUP + rng.randrange(YEAR_DAYS - scenario.duration + 1)
    size = scenario.strength * math.sqrt(scenario.level) * scenario.duration
    injected = 0
    for offset, weight in enumerate(weights(scenario.shape, scenario.duration)):
        extra = poisson(rng, size * weight)
        counts[first + offset] += extra
        injected += extra
    series = CountSeries("SYN", "SYN", START, tuple(counts))
    return Replicate(series, first, first + scenario.duration - 1, injected)


def method_signals(series: CountSeries, methods: Sequence[Detector], *, first: int = WARMUP
                   ) -> dict[str, list[SignalDay]]:
    """Signal days from day ``first`` on, per method and for all methods together (``ALL``)."""
    per: dict[str, list[SignalDay]] = {}
    union: dict[int, SignalDay] = {}
    for method in methods:
        days = []
        for t, reading in enumerate(method.evaluate(series.counts)):
            if t < first or reading is None or not reading.signal:
                continue
            day = SignalDay(t, series.day(t), series.counts[t], (method.name,), max(first, reading.onset))
            days.append(day)
            seen = union.get(t)
            union[t] = day if seen is None else SignalDay(t, day.day, day.count, seen.methods + (method.name,),
                                                          min(seen.onset, day.onset))
        per[method.name] = days
    per[ALL] = [union[t] for t in sorted(union)]
    return per


@dataclass
class Score:
    """One method's tally over replicates."""

    outbreaks: int = 0
    detected: int = 0
    false_alerts: int = 0
    delays: list = None

    def __post_init__(self):
        self.delays = [] if self.delays is None else self.delays

    def as_dict(self) -> dict:
        years = self.outbreaks * YEAR_DAYS / 365
        return {"outbreaks": self.outbreaks, "detected": self.detected,
                "sensitivity": round(self.detected / self.outbreaks, 4) if self.outbreaks else None,
                "false_alerts": self.false_alerts,
                "false_alerts_per_district_year": round(self.false_alerts / years, 3) if years else None,
                "median_days_to_detection": float(statistics.median(self.delays)) if self.delays else None}


def score_replicate(rep: Replicate, methods: Sequence[Detector], rule: IncidentRule, scores: dict[str, Score]
                    ) -> None:
    """Add ``rep``'s outcome per method to ``scores``."""
    for name, days in method_signals(rep.series, methods).items():
        score = scores.setdefault(name, Score())
        score.outbreaks += 1
        inside = [d.index for d in days if rep.outbreak_start <= d.index <= rep.outbreak_end]
        if inside:
            score.detected += 1
            score.delays.append(inside[0] - rep.outbreak_start)
        for incident in group(rep.series, days, rule):
            first = (incident.detected - rep.series.start).days
            last = (incident.last_signal - rep.series.start).days
            if last < rep.outbreak_start or first > rep.outbreak_end:
                score.false_alerts += 1


def evaluate(*, seed: int, replicates: int, methods: Sequence[Detector] = DEFAULT_METHODS,
             rule: IncidentRule = IncidentRule(), levels: Sequence[float] = LEVELS,
             strengths: Sequence[float] = STRENGTHS, season: float = 0.0,
             weekly: Sequence[float] = WEEKLY) -> dict:
    """Scores per method: overall, per baseline level, per shape and per strength (JSON-ready), on series
    with the weekly pattern and, when ``season`` > 0, a winter season."""
    overall: dict[str, Score] = {}
    by: dict[str, dict[str, dict[str, Score]]] = {"level": {}, "shape": {}, "strength": {}}
    for scenario in scenarios(levels, strengths):
        for number in range(replicates):
            rep = replicate(scenario, seed=seed, number=number, season=season, weekly=weekly)
            local: dict[str, Score] = {}
            score_replicate(rep, methods, rule, local)
            for name, score in local.items():
                targets = [overall.setdefault(name, Score())]
                for axis, value in (("level", scenario.level), ("shape", scenario.shape),
                                    ("strength", scenario.strength)):
                    targets.append(by[axis].setdefault(f"{value:g}" if isinstance(value, float) else value,
                                                       {}).setdefault(name, Score()))
                for target in targets:
                    target.outbreaks += score.outbreaks
                    target.detected += score.detected
                    target.false_alerts += score.false_alerts
                    target.delays.extend(score.delays)
    return {"seed": seed, "replicates_per_scenario": replicates, "season": season, "weekly": list(weekly), "scenarios": len(scenarios(levels, strengths)),
            "overall": {name: score.as_dict() for name, score in overall.items()},
            **{f"by_{axis}": {value: {name: score.as_dict() for name, score in per.items()}
                              for value, per in values.items()} for axis, values in by.items()}}


# thresholds tried per method (the CUSUM's is h) and standard deviation floors tried at low levels
GRID = {"C1": (3.0, 4.0, 5.0, 6.0), "C2": (3.0, 4.0, 5.0, 6.0), "C3": (2.0, 3.0, 4.0, 6.0),
        "CUSUM": (4.0, 6.0, 8.0, 10.0)}
# standard deviation floors compared: (min_sd, poisson_sd); the last is the detectors' default
FLOORS = ((0.2, 0.0), (0.5, 0.0), (1.0, 0.0), (1.0, 1.0))


def with_threshold(method: Detector, value: float) -> Detector:
    return dataclasses.replace(method, **{"h" if method.name == "CUSUM" else "threshold": value})


def with_floor(method: Detector, min_sd: float, poisson_sd: float) -> Detector:
    if method.name == "C3":
        return dataclasses.replace(method, c2=with_floor(method.c2, min_sd, poisson_sd))
    return dataclasses.replace(method, baseline=dataclasses.replace(method.baseline, min_sd=min_sd,
                                                                    poisson_sd=poisson_sd))


def calibrate(*, seed: int, replicates: int, methods: Sequence[Detector] = DEFAULT_METHODS,
              grid: dict = GRID, levels: Sequence[float] = LEVELS) -> dict:
    """Each method alone at each threshold of ``grid``: the trade of sensitivity for false alerts."""
    out: dict[str, dict[str, dict]] = {}
    for method in methods:
        for value in grid.get(method.name, ()):
            result = evaluate(seed=seed, replicates=replicates, methods=[with_threshold(method, value)],
                              levels=levels)
            out.setdefault(method.name, {})[f"{value:g}"] = result["overall"][method.name]
    return out


def floors(*, seed: int, replicates: int, methods: Sequence[Detector] = DEFAULT_METHODS,
           levels: Sequence[float] = LEVELS) -> dict:
    """All methods under each standard deviation floor of ``FLOORS``: overall and per level."""
    out = {}
    for min_sd, poisson_sd in FLOORS:
        result = evaluate(seed=seed, replicates=replicates, levels=levels,
                          methods=[with_floor(method, min_sd, poisson_sd) for method in methods])
        out[f"min_sd {min_sd:g}, poisson_sd {poisson_sd:g}"] = {"overall": result["overall"],
                                                                "by_level": result["by_level"]}
    return out


__all__ = ["ALL", "FLOORS", "GRID", "LEVELS", "Replicate", "SHAPES", "STRENGTHS", "Scenario", "Score", "WARMUP",
           "WEEKLY", "calibrate", "evaluate", "floors", "method_signals", "poisson", "replicate", "scenarios",
           "score_replicate", "weights", "with_floor", "with_threshold"]
