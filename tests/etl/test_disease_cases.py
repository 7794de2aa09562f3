"""The diseases cube counts cases, not cards: a person reported by two institutions is two cards and one
case (the surveillance workflow links them through the MPI); a card loaded before the workflow linked it
counts as its own case until the next run re-reads it; on SQLite and PostgreSQL × chDB and a ClickHouse
server."""
from __future__ import annotations

from datetime import date, timedelta

from hub.workflows import run_pass
from olap.cubes import execute, parse_query
from olap.cubes.facts import cell_fact_keys, traceable
from tests.workflows.cards import MEASLES, card, resident

ONSET = date(2026, 11, 2)
BODY = {"measures": ["cases", "cards"], "group_by": ["residence.district"],
        "period": {"from": "2026-11-01", "to": "2026-11-30"}}


def _cell(etl) -> tuple[int, int]:
    cells = execute(etl.mart, parse_query("diseases", BODY, today=date(2026, 12, 1)))["cells"]
    cell = next(c for c in cells if c["residence.district"] == "330102")
    return cell["cases"], cell["cards"]


def test_two_institutions_one_person_two_cards_one_case(etl):
    people = [resident(n) for n in range(1, 6)]  # five cases: a cell of fewer would be withheld
    etl.deliver(*[card(f"C-{n}", patient=p, disease=MEASLES, onset=ONSET) for n, p in enumerate(people)])
    etl.deliver(*[card(f"H-{n}", patient=p, disease=MEASLES, onset=ONSET + timedelta(days=1), institution="HOSP01")
                  for n, p in enumerate(people[:3])], member="HOSP01")
    etl.run()  # before the workflow linked them: each card its own case
    assert _cell(etl) == (8, 8)
    run_pass(etl.store.sessions)
    etl.run()  # the cases changed: their persons' cards are read again
    assert _cell(etl) == (5, 8)
    facts = etl.live("fact_disease_report", "institution_code, case_first")
    assert sorted(map(tuple, facts.itertuples(index=False))) == [("CLINIC01", 1)] * 5 + [("HOSP01", 0)] * 3

    # a cell's cases name their facts as a count does: the first card of each case
    query = parse_query("diseases", BODY, today=date(2026, 12, 1))
    assert traceable("diseases", query.group_by, query.measures) == ["cases", "cards"]
    cell = {"residence.district": "330102"}
    assert [len(cell_fact_keys(etl.mart, query, cell, value=value)["fact_keys"]) for value in ("cases", "cards")] == [
        5, 8]
