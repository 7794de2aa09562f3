"""Small counts recovered from the cube API by a second query, over plain HTTP against a running hub
(``console_hub``): a conditional count beside its cell's withheld person count, and a filter that
removes the complementary suppression of a withheld cell. Each failed before the rules of
``olap/cubes/suppress.py`` that guard them (docs/cubes.md, Small-cell suppression)."""
from __future__ import annotations

from .conftest import ConsoleHub


def _member_query(hub: ConsoleHub, member: str, cube: str, body: dict) -> dict:
    return hub.cube(member, cube, body)


def test_a_conditional_count_is_withheld_where_its_condition_as_a_level_is(console_hub):
    """referrals by target institution: the cube withholds every (institution, direction) cell for the
    district bureau, yet published ``down`` = 1 for H02 in the same cells' margin (countIf measures were not
    checked against the threshold) — the referrals page's 转入 card shows it."""
    by_direction = _member_query(console_hub, "B02", "referrals", {
        "measures": ["referrals"], "group_by": ["target.institution", "referral.direction"], "period": None})
    withheld = {(c["target.institution"], c["referral.direction"]) for c in by_direction["cells"] if c["suppressed"]}
    conditional = _member_query(console_hub, "B02", "referrals", {
        "measures": ["referrals", "up", "down"], "group_by": ["target.institution"], "period": None})
    shown = {(c["target.institution"], direction): c[direction] for c in conditional["cells"] for direction in ("up", "down")
             if c[direction] is not None}
    assert not [(cell, value) for cell, value in shown.items() if cell in withheld and 0 < value < 5]


def test_a_filter_does_not_lift_the_complementary_suppression_of_a_withheld_cell(console_hub):
    """visits by district, all time (the city bureau's scope): 萧山区 is withheld (1-4 visits) and 拱墅区
    with it (complementary). Filtered to 拱墅区 and 西湖区 the same cells published 拱墅区 (the withheld cell
    left the query, so no margin group held it), and the city total minus the two gave 萧山区 exactly
    (margins were taken within the filtered answer only)."""
    body = {"measures": ["visits"], "group_by": ["institution.district"], "period": None}
    whole = console_hub.cube("B01", "visits", body)
    withheld = {c["institution.district"] for c in whole["cells"] if c["suppressed"]}
    assert withheld
    city = console_hub.cube("B01", "visits", {**body, "group_by": ["institution.city"]})["cells"][0]["visits"]
    for hidden in withheld:
        others = [c["institution.district"] for c in whole["cells"] if c["institution.district"] != hidden]
        filtered = console_hub.cube("B01", "visits", {**body, "filters": [{"level": "institution.district", "in": others}]})
        published = [c["visits"] for c in filtered["cells"] if not c["suppressed"]]
        assert len(published) < len(others) or not 0 < city - sum(published) < 5, (hidden, city - sum(published))
