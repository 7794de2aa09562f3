"""The plausibility rules' shortcuts (hub/records/quality.py: a birth year well before the document's,
an event in a later UTC year, bounds compared in UTC) give what the plain definition gives at the edges
where UTC and the region's calendar day differ: New Year's night, the day of birth, 120 years."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from .test_rules import CHINA, changed, judged

BIRTH = "header/patient/birthDate"
BIRTH_FIELD = "/OutpatientVisit/header/patient/birthDate/@value"
VISIT_FIELD = "/OutpatientVisit/body/visitTime/@value"


def _local_day(text: str) -> date:
    return datetime.fromisoformat(text).astimezone(CHINA).date()


def expected(birth: str, effective: str, visit: str) -> list[tuple[str, str]]:
    """The definition: days are the region's; a birth after the document or over 120 years before it is
    implausible (one finding); else a visit on a day before the birth is before birth."""
    born, when = date.fromisoformat(birth), _local_day(effective)
    try:
        limit = when.replace(year=when.year - 120)
    except ValueError:
        limit = when.replace(year=when.year - 120, day=28)
    if born > when or born < limit:
        return [("record.patient.birth_date.implausible", BIRTH_FIELD)]
    return [("record.event.before_birth", VISIT_FIELD)] if _local_day(visit) < born else []


NEW_YEAR = "2026-01-01T00:30:00+08:00"  # 2025-12-31 16:30 UTC: the UTC year is the one before
CASES = [
    ("2026-01-01", NEW_YEAR, NEW_YEAR),                       # born that local day: plausible, not before
    ("2026-01-02", NEW_YEAR, NEW_YEAR),                       # born the day after the document
    ("2025-12-31", NEW_YEAR, "2025-12-30T23:59:00+08:00"),    # a visit the local day before birth
    ("2025-12-31", NEW_YEAR, "2025-12-31T00:00:00+08:00"),    # on the day of birth (16:00 UTC the day before)
    ("2025-12-31", NEW_YEAR, "2026-01-01T07:59:00+08:00"),    # a later local year, the same UTC year
    ("2025-06-01", NEW_YEAR, "2025-05-31T23:59:59+08:00"),
    ("1906-01-01", NEW_YEAR, NEW_YEAR),                       # exactly 120 years before the local day
    ("1905-12-31", NEW_YEAR, NEW_YEAR),                       # a day more
    ("1906-11-22", "2026-11-22T09:30:00+08:00", "2026-11-22T09:05:00+08:00"),
    ("1906-11-21", "2026-11-22T09:30:00+08:00", "2026-11-22T09:05:00+08:00"),
    ("1907-06-30", "2026-11-22T09:30:00+08:00", "2026-11-22T09:05:00+08:00"),
    ("1968-04-12", "2026-11-22T09:30:00+08:00", "2026-11-22T09:05:00+08:00"),  # the everyday document
    ("1968-04-12", "2026-11-22T09:30:00+08:00", "1968-04-11T23:00:00+00:00"),  # 07:00 on the day of birth
    ("1968-04-12", "2026-11-22T09:30:00+08:00", "1968-04-11T15:59:00+00:00"),  # 23:59 the day before
]


@pytest.mark.parametrize("birth,effective,visit", CASES)
def test_birth_and_event_rules_at_the_calendar_edges(birth, effective, visit):
    doc = changed("OutpatientVisit", **{BIRTH: birth, "header/effectiveTime": effective, "body/visitTime": visit})
    assert judged(doc) == expected(birth, effective, visit)
