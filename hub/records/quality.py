"""Plausibility rules: what is wrong in a valid document, found after it is normalized.

A rule looks at the document's header and normalized rows and yields ``Finding``s (warning severity:
the document is stored, the finding is kept beside it and sent back in the acknowledgement) or raises
a ``RecordError`` (error severity: what cannot be stored safely, e.g. a stay that ends before it
starts would make bed-days negative). Every code is registered (``protocol.findings`` for warnings,
``protocol.errors.FAULTS`` for errors) and has a line in ``docs/data-quality.md``; a field is a path,
never a value. Rules are registered with ``@rule`` and run in registration order.

    @rule
    def my_rule(header, normalized):
        if ...:
            yield Finding("record.….implausible", f"/{header.type_name}/…")
"""
from __future__ import annotations

from datetime import date
from typing import Callable, Iterable

from protocol.findings import Finding

from .header import DocumentHeader
from .normalizers import Normalized

Rule = Callable[[DocumentHeader, Normalized], Iterable[Finding]]
RULES: list[Rule] = []
FINDING_TABLE = "record_finding"
MAX_AGE_YEARS = 120


def rule(function: Rule) -> Rule:
    RULES.append(function)
    return function


def findings_of(header: DocumentHeader, normalized: Normalized) -> list[Finding]:
    """Every rule's findings for one document (raises ``RecordError`` for an error-severity rule)."""
    found: list[Finding] = []
    for check in RULES:
        found.extend(check(header, normalized))
    return found


def finding_rows(findings: list[Finding]) -> list[tuple[str, dict]]:
    """The document's ``record_finding`` rows (stored with its other normalized rows)."""
    return [(FINDING_TABLE, {"code": finding.code, "field": finding.field}) for finding in findings]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@rule
def birth_date(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A birth date after the document, or more than 120 years before it (a typed 1013 for 2013)."""
    patient = header.patient
    if patient is None or patient.birth_date is None:
        return
    when = header.effective_time.date()
    if patient.birth_date > when or patient.birth_date < _years_before(when, MAX_AGE_YEARS):
        yield Finding("record.patient.birth_date.implausible", f"/{header.type_name}/header/patient/birthDate/@value")


__all__ = ["RULES", "Rule", "rule", "findings_of", "finding_rows", "FINDING_TABLE"]
