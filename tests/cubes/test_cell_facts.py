"""The facts behind one cell (``olap.cubes.facts.cell_fact_keys``): the cell's own rows, within the
scope, bounded, and never for a withheld cell."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from olap.cubes import CubeError, Scope, execute, parse_query
from olap.cubes.facts import MAX_FACT_KEYS, cell_fact_keys

TODAY = date(2026, 11, 30)
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def _query(group_by, **extra):
    return parse_query("visits", {"measures": ["visits"], "group_by": group_by, "period": NOVEMBER, **extra},
                       today=TODAY)


def test_a_cells_facts_are_its_own_rows_and_as_many_as_it_counts(region, mart):
    query = _query(["institution.institution"])
    cells = execute(mart, query)["cells"]
    shown = next(c for c in cells if not c["suppressed"] and c["visits"] <= MAX_FACT_KEYS)
    answer = cell_fact_keys(mart, query, {"institution.institution": shown["institution.institution"]})
    assert answer["complete"] and len(answer["fact_keys"]) == shown["visits"]
    assert answer["fact_keys"] == sorted(answer["fact_keys"])
    rows = [int(key.split(":")[1]) for key in answer["fact_keys"]]
    with region.engine.connect() as connection:
        owners = {connection.execute(text(f"SELECT institution FROM {key.split(':')[0]} WHERE id = :id"),
                                     {"id": row}).scalar() for key, row in zip(answer["fact_keys"], rows)}
    assert owners == {shown["institution.institution"]}


def test_the_list_is_bounded(mart):
    query = _query([])
    total = execute(mart, query)["cells"][0]["visits"]
    assert total > 3
    answer = cell_fact_keys(mart, query, {}, limit=3)
    assert len(answer["fact_keys"]) == 3 and not answer["complete"]


def test_a_withheld_cell_lists_no_facts(mart):
    query = _query(["institution.institution", "institution.department"])
    withheld = next(c for c in execute(mart, query)["cells"] if c["suppressed"])
    with pytest.raises(CubeError) as refused:
        cell_fact_keys(mart, query, {name: withheld[name] for name in query.group_by})
    assert refused.value.code == "access.denied"


def test_outside_the_scope_a_cell_does_not_exist(mart):
    query = _query(["institution.institution"])
    with pytest.raises(CubeError) as refused:
        cell_fact_keys(mart, query, {"institution.institution": "H02"}, scope=Scope(institutions=frozenset({"H01"})))
    assert refused.value.code == "cube.query.invalid"
