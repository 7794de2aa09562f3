"""The hospital card's changes (环比, 同比), computed once on the server for the page and its export."""
from __future__ import annotations

from hub.web.console.hospital import change, with_changes


def _row(current, previous, year_ago, *withheld: str) -> dict:
    return {"code": "x", "label": "x", "current": current, "previous": previous, "year_ago": year_ago,
            "suppressed": {series: series in withheld for series in ("current", "previous", "year_ago")}}


def test_a_change_is_per_cent_with_one_decimal_and_none_without_a_base():
    assert change(110, 100) == 10.0 and change(90, 120) == -25.0 and change(1, 3) == -66.7
    assert change(5, -10) == 150.0  # against the base's size: a loss that shrank is a rise
    assert change(5, 0) is None and change(None, 3) is None and change(3, None) is None


def test_a_change_beside_a_withheld_value_is_withheld_and_not_computed():
    row = with_changes(_row(120, None, 100, "previous"))  # last month small: withheld
    assert (row["change"], row["suppressed"]["change"]) == (None, True)  # 120 and +x% would give it back
    assert (row["yoy"], row["suppressed"]["yoy"]) == (20.0, False)
    row = with_changes(_row(None, 80, 100, "current"))
    assert row["suppressed"]["change"] and row["suppressed"]["yoy"] and row["change"] is row["yoy"] is None
    # a value marked withheld is never used, whatever the cell holds
    assert with_changes(_row(120, 3, 100, "previous"))["change"] is None
