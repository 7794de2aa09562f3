"""The truth of the public-health kinds: what the immunization, child, maternal and diseases cubes say.

- ``truth/public-health.csv``: per institution × month, the immunization cube's ``doses`` and
  ``children`` (distinct persons vaccinated), the child cube's ``checkups`` and ``children``, the
  maternal cube's ``checkups``, ``women``, ``antenatal_checkups`` and ``antenatal_women`` (distinct
  true persons: the cubes count MPI persons, which the MPI links to these);
- ``truth/immunizations.csv``: doses per institution × month × vaccine × dose number;
- ``truth/diseases.csv``: reported cases per reporting institution × month (of the diagnosis date) ×
  disease; ``truth/diseases-by-residence.csv``: per district of the current address × month × disease;
- ``truth/outbreak.csv``: the injected outbreak: disease, district, first and last onset and
  diagnosis, cases, reporting members.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .events import TRUTHS
from .public_health import ChildCheckup, Immunization
from .public_health_diseases import DISEASES, DiseaseReport
from .public_health_maternal import MaternalCheckup

CARE_COLUMNS = ("institution", "month", "doses", "vaccinated", "child_checkups", "children_checked",
                "maternal_checkups", "women", "antenatal_checkups", "antenatal_women")
IMMUNIZATION_COLUMNS = ("institution", "month", "vaccine", "dose", "doses")
DISEASE_COLUMNS = ("institution", "month", "disease", "class", "cases")
RESIDENCE_COLUMNS = ("division", "month", "disease", "cases")
OUTBREAK_COLUMNS = ("disease", "division", "first_onset", "last_onset", "first_diagnosis", "last_diagnosis", "cases",
                    "members")


@dataclass
class CareTruth:
    """Immunizations, child and maternal checkups per institution × month (counts and distinct persons)."""

    counts: Counter = field(default_factory=Counter)      # (institution, month, measure) -> n
    persons: dict = field(default_factory=dict)           # (institution, month, measure) -> {person ids}
    doses: Counter = field(default_factory=Counter)       # (institution, month, vaccine, dose) -> n

    def _count(self, event, measure: str, distinct: str) -> None:
        self.counts[event.institution, event.month, measure] += 1
        self.persons.setdefault((event.institution, event.month, distinct), set()).add(event.person_id)

    def add(self, event) -> None:
        if isinstance(event, Immunization):
            self._count(event, "doses", "vaccinated")
            self.doses[event.institution, event.month, event.vaccine, event.dose] += 1
        elif isinstance(event, ChildCheckup) and event.age_months < 84:  # the child cube's condition
            self._count(event, "child_checkups", "children_checked")
        elif isinstance(event, MaternalCheckup):
            self._count(event, "maternal_checkups", "women")
            if event.antenatal:
                self._count(event, "antenatal_checkups", "antenatal_women")

    def files(self):
        cells = sorted({(institution, month) for institution, month, _ in (*self.counts, *self.persons)})

        def value(cell, measure):
            if measure in ("vaccinated", "children_checked", "women", "antenatal_women"):
                return len(self.persons.get((*cell, measure), ()))
            return self.counts[(*cell, measure)]

        rows = [(*cell, *(value(cell, measure) for measure in CARE_COLUMNS[2:])) for cell in cells]
        doses = [(*key, n) for key, n in sorted(self.doses.items())]
        return {"public-health.csv": (CARE_COLUMNS, rows), "immunizations.csv": (IMMUNIZATION_COLUMNS, doses)}


@dataclass
class DiseaseTruth:
    """Reported cases by reporting institution and by residence, and the outbreak's summary."""

    by_institution: Counter = field(default_factory=Counter)
    by_residence: Counter = field(default_factory=Counter)
    outbreak: list = field(default_factory=list)

    def add(self, event) -> None:
        if not isinstance(event, DiseaseReport):
            return
        self.by_institution[event.institution, event.month, event.disease] += 1
        self.by_residence[event.division, event.month, event.disease] += 1
        if event.outbreak:
            self.outbreak.append(event)

    def files(self):
        files = {
            "diseases.csv": (DISEASE_COLUMNS, [(institution, month, disease, DISEASES[disease], n) for
                                               (institution, month, disease), n
                                               in sorted(self.by_institution.items())]),
            "diseases-by-residence.csv": (RESIDENCE_COLUMNS,
                                          [(*key, n) for key, n in sorted(self.by_residence.items())]),
        }
        rows = []
        if self.outbreak:
            cases = self.outbreak
            onsets = sorted(c.onset for c in cases)
            diagnosed = sorted(c.diagnosed.date() for c in cases)
            rows.append((cases[0].disease, cases[0].division, onsets[0].isoformat(), onsets[-1].isoformat(),
                         diagnosed[0].isoformat(), diagnosed[-1].isoformat(), len(cases),
                         " ".join(sorted({c.institution for c in cases}))))
        files["outbreak.csv"] = (OUTBREAK_COLUMNS, rows)
        return files


TRUTHS.extend((CareTruth, DiseaseTruth))

__all__ = ["CareTruth", "DiseaseTruth", "CARE_COLUMNS", "IMMUNIZATION_COLUMNS", "DISEASE_COLUMNS", "RESIDENCE_COLUMNS",
           "OUTBREAK_COLUMNS"]
