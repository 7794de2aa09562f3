"""Filling a mart from the region, asking the cubes, and comparing their cells with the pandas oracle."""
from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import text

from etl import jobs
from etl.transform import Pseudonymizer
from olap import apply_schema
from olap.cubes import Scope, execute, load_population, parse_query
from olap.dimensions import (
    date_dimension, diagnosis_dimension, disease_dimension, division_dimension, drug_dimension, institution_dimension,
    load_dimension, vaccine_dimension,
)

from .scenario import POPULATION

AS_OF = date(2026, 12, 1)
WHOLE = {"from": "2025-09-01", "to": "2026-11-30"}


def fill_mart(mart, region) -> None:
    """A fresh mart filled by the ETL from the region's store, with dimensions and population."""
    apply_schema(mart)
    jobs.backfill(region.store.sessions, mart, Pseudonymizer(b"cube-test-key-0123456789abcdef01"),
                  start=date(2020, 1, 1), end=region.today + timedelta(days=1))
    with region.engine.connect() as connection:
        institutions = institution_dimension(connection)
        codes = [row[0] for row in connection.execute(text("SELECT DISTINCT code FROM record_diagnosis"))]
    for name, frame in (("dim_institution", institutions), ("dim_division", division_dimension()),
                        ("dim_drug", drug_dimension()), ("dim_disease", disease_dimension()),
                        ("dim_vaccine", vaccine_dimension()),
                        ("dim_diagnosis", diagnosis_dimension(codes)),
                        ("dim_date", date_dimension(date(2024, 1, 1), date(2027, 12, 31)))):
        load_dimension(mart, name, frame)
    load_population(mart, POPULATION)


def ask(mart, cube: str, body: dict, *, scope: Scope = Scope(), today: date = AS_OF) -> dict:
    return execute(mart, parse_query(cube, body, today=today), scope=scope)


def compare(result: dict, expected: pd.DataFrame, *, small: pd.Series | None = None, minimum: int = 5) -> int:
    """Every cube cell matches the oracle row with the same level values: exact counts and sums,
    indicators to 1e-6 (answers carry six decimals); cells the oracle finds small (1-4 persons) are suppressed. Returns the
    number of published cells compared (at least ``minimum``)."""
    levels = result["group_by"]
    expected = expected.reset_index()
    key = (lambda row: tuple(str(row[name]) for name in levels))
    oracle = {key(row): row for row in expected.to_dict("records")}
    small_keys = set() if small is None else {key(row) for row, flag in zip(expected.to_dict("records"), small) if flag}
    cells = {key(cell): cell for cell in result["cells"]}
    assert set(cells) == set(oracle), (sorted(set(cells) ^ set(oracle))[:5])
    published = 0
    names = (*result["measures"], *result["indicators"])
    for cell_key, cell in cells.items():
        if cell_key in small_keys:
            assert cell["suppressed"], cell_key
        if cell["suppressed"]:  # some values withheld; whatever is published must still be right
            assert any(cell[name] is None for name in names), cell_key
        else:
            published += 1
        row = oracle[cell_key]
        for name in result["measures"]:
            if cell[name] is not None or not cell["suppressed"]:
                assert cell[name] == row[name], (cell_key, name, cell[name], row[name])
        for name in result["indicators"]:
            if cell[name] is None and cell["suppressed"]:
                continue
            want = row[name]
            if want is None or (isinstance(want, float) and not math.isfinite(want)):
                assert cell[name] is None, (cell_key, name)
            else:
                assert math.isclose(cell[name], want, rel_tol=1e-6, abs_tol=1e-6), (cell_key, name, cell[name], want)
    assert published >= minimum, published
    return published


__all__ = ["fill_mart", "ask", "compare", "AS_OF", "WHOLE"]
