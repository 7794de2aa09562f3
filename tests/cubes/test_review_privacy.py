"""Review: person-level counts below 5 must not be readable through any cube."""
from __future__ import annotations

import pytest

from .checks import ask


@pytest.mark.xfail(strict=True, reason="review finding, not fixed: the exchange cube publishes small counts of "
                   "disease-report messages per clinic (no privacy measure); needs a policy decision")
def test_exchange_cube_does_not_reveal_few_disease_reports(mart, region):
    everything = {"from": "2020-01-01", "to": region.today.isoformat()}
    reports = ask(mart, "exchange", {"measures": ["messages"],
                                     "group_by": ["institution.institution", "message.document_type"],
                                     "period": everything}, today=region.today)
    small = [cell for cell in reports["cells"] if cell["messages"] is not None and 0 < cell["messages"] < 5]
    assert not small, small[:3]
