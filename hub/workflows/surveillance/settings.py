"""Detector settings per disease, as data: ``DISEASES`` holds a ``default`` entry for every disease and
each disease's overrides (docs/workflows.md, "Settings per disease").

    settings = settings_for("301")                 # influenza: the defaults with 301's overrides
    settings = settings_for("310", table={"default": {...}, "310": {"C1": 3.5, "CUSUM": 5}})
    found = incidents(series, methods=settings.methods, rule=settings.rule)

An entry's keys (every one optional):

- ``C1``, ``C2``, ``C3``: the method's threshold; ``CUSUM``: its decision value ``h`` (numbers above 0);
- ``weekday``: True for the weekday-aware baseline of C1, C2 and C3 (``WeekdayBaseline``), False for the
  plain 7-day window; the CUSUM's 28 days are four whole weeks and keep the plain one;
- ``gap``: the incident rule's quiet days inside one incident (an integer, 0 or more).

The table is checked when this module is imported — when the hub starts its workflows: an unknown
key or disease, or an impossible value, stops the start with ``workflow.detector.settings``.
``PLAIN`` keeps the published EARS settings every disease ran before (thresholds 3, 3, 2, h 4,
plain baselines, gap 3): the evaluation compares the two.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from .detectors import Baseline, Cusum, Detector, DetectorSettingsError, EarsC1, EarsC2, EarsC3
from .detectors_weekday import WeekdayBaseline
from .incidents import IncidentRule

THRESHOLD_KEYS = {"C1": "c1", "C2": "c2", "C3": "c3", "CUSUM": "cusum"}
KEYS = (*THRESHOLD_KEYS, "weekday", "gap")


@dataclass(frozen=True)
class DetectorSettings:
    """The methods run on a disease's series and how their signals become incidents."""

    c1: EarsC1 = EarsC1()
    c2: EarsC2 = EarsC2()
    c3: EarsC3 = EarsC3()
    cusum: Cusum = Cusum()
    rule: IncidentRule = IncidentRule()

    @property
    def methods(self) -> tuple[Detector, ...]:
        return (self.c1, self.c2, self.c3, self.cusum)

    @property
    def weekday(self) -> bool:
        return isinstance(self.c1.baseline, WeekdayBaseline)

    def with_thresholds(self, thresholds: Mapping[str, float]) -> DetectorSettings:
        """These settings with the thresholds of the methods named in ``thresholds`` replaced."""
        unknown = set(thresholds) - set(THRESHOLD_KEYS)
        if unknown:
            raise DetectorSettingsError(f"unknown methods {sorted(unknown)}; known: {sorted(THRESHOLD_KEYS)}")
        return self.with_overrides(thresholds)

    def with_overrides(self, entry: Mapping[str, object]) -> DetectorSettings:
        """These settings with one table entry's values (thresholds, ``weekday``, ``gap``) applied."""
        unknown = set(entry) - set(KEYS)
        if unknown:
            raise DetectorSettingsError(f"unknown settings {sorted(unknown)}; known: {list(KEYS)}")
        changes: dict[str, object] = {}
        for name, value in entry.items():
            if name in THRESHOLD_KEYS:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                        math.isfinite(value) and value > 0):
                    raise DetectorSettingsError(f"{name}: a threshold is a number above 0")
                method = getattr(self, THRESHOLD_KEYS[name])
                changes[THRESHOLD_KEYS[name]] = dataclasses.replace(
                    method, **{"h" if name == "CUSUM" else "threshold": float(value)})
        result = dataclasses.replace(self, **changes)
        if "weekday" in entry:
            if not isinstance(entry["weekday"], bool):
                raise DetectorSettingsError("weekday: true or false")
            result = result._weekday(entry["weekday"])
        if "gap" in entry:
            gap = entry["gap"]
            if isinstance(gap, bool) or not isinstance(gap, int):
                raise DetectorSettingsError("gap: a whole number of days")
            result = dataclasses.replace(result, rule=IncidentRule(gap=gap))
        return result

    def _weekday(self, on: bool) -> DetectorSettings:
        def rebased(method):
            old = method.baseline
            fields = {f.name: getattr(old, f.name) for f in dataclasses.fields(old)
                      if f.name not in ("weeks", "prior")}
            return dataclasses.replace(method, baseline=WeekdayBaseline(**fields) if on else
                                       Baseline(**fields))
        return dataclasses.replace(self, c1=rebased(self.c1), c2=rebased(self.c2),
                                   c3=dataclasses.replace(self.c3, c2=rebased(self.c3.c2)))


# The published EARS settings on plain baselines: what every disease ran before the weekday baseline.
PLAIN = DetectorSettings()

# Per notifiable disease (schemas/codes/notifiable-diseases.csv): "default" for every disease, then the
# overrides. Measured in bench.outbreak / bench.outbreak_workflow (docs/workflows.md, "Settings per disease").
DISEASES: Mapping[str, Mapping[str, object]] = {
    # the weekday baseline for the 7-day methods, their thresholds a quarter higher than the published ones
    # (its sd no longer holds the week's spread); the CUSUM as it was. Fewer false alerts than PLAIN for the
    # same sensitivity on series with a weekly pattern and a season (bench.outbreak)
    "default": {"C1": 3.25, "C2": 3.25, "C3": 2.25, "CUSUM": 4.0, "weekday": True, "gap": 3},
    # influenza: tens of cases a day in season, rising by month; its season's onset is one incident per
    # district (signals up to four weeks apart joined), and only a large excess over a few days alerts
    "301": {"C1": 5.0, "C2": 5.0, "C3": 5.0, "CUSUM": 8.0, "gap": 28},
}


def settings_table(table: Mapping[str, Mapping[str, object]], *, base: DetectorSettings = PLAIN
                   ) -> dict[str, DetectorSettings]:
    """Every entry of ``table`` as settings (``default`` applied first under each disease's own), checked."""
    for disease in table:
        if disease != "default" and not (isinstance(disease, str) and disease.isdigit()):
            raise DetectorSettingsError(f"{disease!r}: a disease is a code of the notifiable-disease list")
    default = base.with_overrides(table.get("default", {}))
    return {"default": default, **{disease: default.with_overrides(entry) for disease, entry in table.items()
                                   if disease != "default"}}


SETTINGS = settings_table(DISEASES)  # checked here: a bad table stops the hub's start
DEFAULT_SETTINGS = SETTINGS["default"]


def settings_for(disease: str, *, table: Mapping[str, Mapping[str, object]] | None = None,
                 base: DetectorSettings = PLAIN) -> DetectorSettings:
    """The settings for ``disease``: ``table``'s (default: ``DISEASES``) default with its own overrides."""
    known = SETTINGS if table is None and base is PLAIN else settings_table(DISEASES if table is None else table,
                                                                            base=base)
    return known.get(disease, known["default"])


__all__ = ["DEFAULT_SETTINGS", "DISEASES", "DetectorSettings", "KEYS", "PLAIN", "SETTINGS", "settings_for",
           "settings_table"]
