"""Review: person-level counts below 5 must not be readable through any cube."""
from __future__ import annotations

from .checks import ask


def test_exchange_cube_does_not_reveal_few_disease_reports(mart, region):
    # Broken down by document type, message counts are person-level (one disease report = one
    # patient): small ones are withheld. Without that level they are counts of a member's sending.
    everything = {"from": "2020-01-01", "to": region.today.isoformat()}
    reports = ask(mart, "exchange", {"measures": ["messages"],
                                     "group_by": ["institution.institution", "message.document_type"],
                                     "period": everything}, today=region.today)
    small = [cell for cell in reports["cells"] if cell["messages"] is not None and 0 < cell["messages"] < 5]
    assert not small, small[:3]
    assert any(cell["suppressed"] for cell in reports["cells"])  # the small ones are there, withheld
    by_member = ask(mart, "exchange", {"measures": ["messages"], "group_by": ["institution.institution"],
                                       "period": everything}, today=region.today)
    assert not any(cell["suppressed"] for cell in by_member["cells"])  # sending counts stay public
