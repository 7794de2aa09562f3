"""Timeliness on known data (docs/data-quality.md, "Figures"): a document dated after its arrival is
flagged ``record.event.in_future`` and never counted as on time; a clinic clock a little fast is.
Through the real processor and the ETL, on SQLite × chDB and PostgreSQL × a ClickHouse server.
SYNTHETIC persons (tests/etl/test_quality_figures.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from olap.cubes import execute, parse_query
from protocol.timestamps import utcnow
from tests.etl.test_quality_figures import LI, WANG, _visit

CHINA = timedelta(hours=8)
N = 5  # five of each: no count of documents is 1-4, so nothing is withheld


@pytest.fixture
def etl(etl_dialects):
    """SQL on both sides (the OLTP reader's lateness, the mart's cubes): the embedded default and the
    server pair, not the cross product (tests/etl/conftest.py)."""
    return etl_dialects


def _cell(etl, **group):
    """The data_quality cell of CLINIC01 from today to 60 days ahead (where the future visits fall)."""
    today = (utcnow() + CHINA).date()
    body = {"measures": ["documents", "within_24h", "within_72h", "document_findings", "median_lateness_hours"],
            "group_by": ["institution.institution"],
            "period": {"from": today.isoformat(), "to": (today + timedelta(days=60)).isoformat()}}
    [cell] = execute(etl.mart, parse_query("data_quality", body, today=today))["cells"]
    return cell


def test_a_visit_dated_in_the_future_is_flagged_and_never_on_time(etl):
    """Typed 40 days ahead (a 2062 for 2026 alike): its lateness is negative, and ``lateness <= 24 h``
    alone would score the wrong date as the most timely of all."""
    etl.deliver(*[_visit(f"FUT-{k}", LI, -24 * 40) for k in range(N)])
    etl.run()
    cell = _cell(etl)
    assert cell["documents"] == N
    assert cell["within_24h"] == 0 and cell["within_72h"] == 0
    assert cell["median_lateness_hours"] is None  # no document with a lateness to take the median of
    assert cell["document_findings"] == N
    assert set(etl.live("fact_finding", "code")["code"]) == {"record.event.in_future"}


def test_a_clinic_clock_a_little_fast_is_on_time_and_not_flagged(etl):
    """Half an hour ahead of the hub: within the tolerance, lateness 0, on time, no finding."""
    etl.deliver(*[_visit(f"FAST-{k}", WANG, -0.5) for k in range(N)])
    etl.run()
    cell = _cell(etl)
    assert cell["documents"] == N and cell["within_24h"] == N and cell["document_findings"] == 0
    assert cell["median_lateness_hours"] == 0
