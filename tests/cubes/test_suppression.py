"""Small cells stay hidden: primary and complementary suppression, the subtraction attack, and
person-level counts below 5 in any cube."""
from __future__ import annotations

import pandas as pd

from olap.cubes.suppress import complementary, primary

from . import oracle
from .checks import ask

AUG_SEP_2025 = {"from": "2025-08-01", "to": "2025-09-30"}


def _true_visits(region) -> dict[str, int]:
    rows = oracle.visits(region.engine)
    return rows[rows["month"].between("2025-08", "2025-09")].groupby("institution").size().to_dict()


def test_subtracting_published_cells_from_the_total_does_not_reveal_a_small_cell(mart, region):
    truth = _true_visits(region)
    assert truth["C04"] == 3
    cells = ask(mart, "visits", {"measures": ["visits"], "group_by": ["institution.institution"],
                                 "period": AUG_SEP_2025})["cells"]
    withheld = {c["institution.institution"] for c in cells if c["suppressed"]}
    assert "C04" in withheld and len(withheld) >= 2  # a lone suppressed cell would be recoverable
    total = ask(mart, "visits", {"measures": ["visits"], "period": AUG_SEP_2025})["cells"][0]["visits"]
    assert total == sum(truth.values())
    leaked = total - sum(c["visits"] for c in cells if not c["suppressed"])
    assert leaked == sum(truth[code] for code in withheld) and leaked != truth["C04"]


def test_the_same_attack_one_level_up_and_inside_a_district(mart, region):
    districts = ask(mart, "visits", {"measures": ["visits"], "group_by": ["institution.district"],
                                     "period": AUG_SEP_2025})["cells"]
    withheld = [c for c in districts if c["suppressed"]]
    assert "330109" in {c["institution.district"] for c in withheld} and len(withheld) >= 2
    total = ask(mart, "visits", {"measures": ["visits"], "period": AUG_SEP_2025})["cells"][0]["visits"]
    assert total - sum(c["visits"] for c in districts if not c["suppressed"]) != 3
    # the district's own total is the clinic's count: small, so suppressed by the primary rule
    inside = ask(mart, "visits", {"measures": ["visits"], "period": AUG_SEP_2025,
                                  "filters": [{"level": "institution.district", "in": ["330109"]}]})["cells"]
    assert inside == [{"visits": None, "suppressed": True}]


def test_having_and_sorting_treat_a_withheld_value_as_unknown(mart, region):
    def ask_having(op: str) -> list[str]:
        result = ask(mart, "visits", {"measures": ["visits"], "group_by": ["institution.institution"],
                                      "having": [{"name": "visits", "op": op, "value": 5}], "period": AUG_SEP_2025})
        return [c["institution.institution"] for c in result["cells"] if c["suppressed"]]
    assert "C04" in ask_having("<") and "C04" in ask_having(">=")
    for descending in (False, True):
        ordered = ask(mart, "visits", {"measures": ["visits"], "group_by": ["institution.institution"],
                                       "sort": [{"by": "visits", "desc": descending}], "period": AUG_SEP_2025})
        flags = [c["suppressed"] for c in ordered["cells"]]
        assert flags == sorted(flags)  # withheld cells last, whichever direction


def test_distinct_persons_below_five_are_suppressed_even_when_events_are_not():
    frame = pd.DataFrame({"g": ["a", "b", "c"], "visits": [9, 12, 20], "persons": [2, 8, 15]})
    mask = primary(frame, ["visits", "persons"])
    assert mask.tolist() == [True, False, False]
    grown = complementary(frame, mask, visible=["g"], parents={}, basis="visits")
    assert grown.tolist() == [True, True, False]  # the smallest other cell hides "a" from the total


def test_complementary_suppression_leaves_no_margin_with_one_withheld_cell():
    rows = [(r, c, v) for r, c, v in [("r1", "c1", 3), ("r1", "c2", 40), ("r1", "c3", 50), ("r2", "c1", 30),
                                      ("r2", "c2", 31), ("r2", "c3", 60), ("r3", "c1", 70), ("r3", "c2", 2),
                                      ("r3", "c3", 90)]]
    frame = pd.DataFrame(rows, columns=["row", "col", "n"])
    mask = complementary(frame, primary(frame, ["n"]), visible=["row", "col"], parents={}, basis="n")
    frame["withheld"] = mask
    for keys in (["row"], ["col"]):
        counts = frame.groupby(keys)["withheld"].sum()
        assert not (counts == 1).any(), counts
    assert not frame.loc[frame["n"] >= 5, "withheld"].all()  # not everything: the method stays useful


def test_a_lone_withheld_cell_is_not_recoverable_from_the_grand_total():
    # r1/c1 is the only cell of its row and of its column: the row and column margins are the cell
    # itself (withheld in their own queries), but the grand total minus the published cells was it.
    frame = pd.DataFrame([("r1", "c1", 3), ("r2", "c2", 40), ("r3", "c2", 50)], columns=["row", "col", "n"])
    mask = complementary(frame, primary(frame, ["n"]), visible=["row", "col"], parents={}, basis="n")
    assert mask.sum() >= 2
    published = frame.loc[~mask, "n"].sum()
    assert frame["n"].sum() - published != 3


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
