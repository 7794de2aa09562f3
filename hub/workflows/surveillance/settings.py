"""Detector settings per disease: one set of methods and an incident rule, thresholds overridable per
disease from a table (disease code → {method name: threshold}).

    settings = settings_for("310")                        # the defaults, with 310's own thresholds
    settings = settings_for("310", table={"310": {"C1": 3.5, "CUSUM": 5}})
    found = incidents(series, methods=settings.methods, rule=settings.rule)

The threshold of C1, C2 and C3 is ``threshold``; the CUSUM's is its decision value ``h``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from .detectors import Cusum, Detector, DetectorSettingsError, EarsC1, EarsC2, EarsC3
from .incidents import IncidentRule


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

    def with_thresholds(self, thresholds: Mapping[str, float]) -> DetectorSettings:
        """These settings with the thresholds of the methods named in ``thresholds`` replaced."""
        fields = {"C1": "c1", "C2": "c2", "C3": "c3", "CUSUM": "cusum"}
        unknown = set(thresholds) - set(fields)
        if unknown:
            raise DetectorSettingsError(f"unknown methods {sorted(unknown)}; known: {sorted(fields)}")
        changes = {}
        for name, value in thresholds.items():
            method = getattr(self, fields[name])
            key = "h" if name == "CUSUM" else "threshold"
            changes[fields[name]] = dataclasses.replace(method, **{key: float(value)})
        return dataclasses.replace(self, **changes)


# Thresholds per notifiable disease (schemas/codes/notifiable-diseases.csv); the defaults elsewhere.
# None of the region's diseases needs its own yet: the evaluation (bench.outbreak) ran the defaults.
THRESHOLDS: Mapping[str, Mapping[str, float]] = {}
DEFAULT_SETTINGS = DetectorSettings()


def settings_for(disease: str, *, table: Mapping[str, Mapping[str, float]] = THRESHOLDS,
                 base: DetectorSettings = DEFAULT_SETTINGS) -> DetectorSettings:
    """The settings for ``disease``: ``base`` with the disease's thresholds from ``table``, if any."""
    return base.with_thresholds(table[disease]) if disease in table else base


__all__ = ["DEFAULT_SETTINGS", "DetectorSettings", "THRESHOLDS", "settings_for"]
