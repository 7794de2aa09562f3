"""The bureau's population figures (``registry_population``) reach the mart's ``ref_population``: they
replace the reference file's row of the same district and year, add the others, and are the
denominator of the incidence the diseases cube answers; on SQLite and PostgreSQL × chDB and a
ClickHouse server."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd

from etl.dimensions import declared_population
from hub.registry import HUB_OPERATOR, import_population, register_institution
from hub.store.db import transaction
from olap.cubes import execute, parse_query, read_population_csv
from schemas import REFERENCE_DIR
from tests.support.documents import document

V = "{urn:hie:doc:v1}"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
REFERENCE = read_population_csv(REFERENCE_DIR / "population.csv")
# 330113 2026 is in the reference file (1,121,000); 330113 2031 is not
BUREAU = [{"division_code": "330113", "year": "2026", "population": "50000", "live_births": "400",
           "children_under_7": "3000", "source": "临平区统计年鉴 2026 (test figures)"},
          {"division_code": "330113", "year": "2031", "population": "60000", "live_births": "500",
           "children_under_7": "3500", "source": "test projection"}]


def _import(etl, rows, *, now=NOW):
    with transaction(etl.store.sessions) as session:
        return import_population(session, actor=HUB_OPERATOR, rows=rows, now=now)


def _mart_population(etl) -> dict[tuple[str, int], tuple]:
    frame = etl.mart.query_df("SELECT division_code, year, population, live_births, children_under_7, source "
                              "FROM ref_population FINAL WHERE deleted = 0")
    return {(row.division_code, int(row.year)): (int(row.population), int(row.live_births),
                                                 int(row.children_under_7), row.source)
            for row in frame.itertuples()}


def test_the_bureaus_figures_replace_the_reference_row_and_add_the_others(etl):
    assert _import(etl, BUREAU).created == 2
    etl.run()
    mart = _mart_population(etl)
    assert mart[("330113", 2026)] == (50_000, 400, 3_000, "临平区统计年鉴 2026 (test figures)")
    assert mart[("330113", 2031)] == (60_000, 500, 3_500, "test projection")
    assert mart[("330113", 2025)] == (1_110_000, 7_215, 66_600, "demo figures (rounded; not official statistics)")
    assert len(mart) == len(REFERENCE) + 1  # one replaced, one added

    # a later import (a corrected figure) reaches the mart at the next run: the refresh is not skipped
    corrected = [{**BUREAU[0], "population": "52000"}]
    assert _import(etl, corrected, now=NOW + timedelta(minutes=5)).updated == 1
    assert etl.run().dimensions.get("ref_population") == 1
    assert _mart_population(etl)[("330113", 2026)][0] == 52_000


def test_the_diseases_cube_divides_by_the_imported_population(etl):
    with transaction(etl.store.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code="CLINIC02", name="示例街道社区卫生服务中心",
                             kind="community_center", division_code="330113")
    _import(etl, BUREAU[:1])
    # five reports of residents of 临平区 (330113), diagnosed in November 2026: enough not to be withheld
    etl.deliver(*[document("InfectiousDiseaseReport", institution="CLINIC02", document_id=f"IDR-{n}")
                  for n in range(5)], member="CLINIC02")
    etl.run()
    body = {"measures": ["cases", "population.population"], "indicators": ["incidence_per_100k"],
            "group_by": ["residence.district"], "period": {"from": "2026-01-01", "to": "2026-11-30"}}
    cells = execute(etl.mart, parse_query("diseases", body, today=date(2026, 12, 1)))["cells"]
    cell = next(c for c in cells if c["residence.district"] == "330113")
    assert (cell["cases"], cell["population.population"]) == (5, 50_000)
    assert cell["incidence_per_100k"] == 10.0  # 5 / 50,000 × 100,000 (the reference's 1,121,000 gives 0.446)


def test_declared_rows_replace_by_division_and_year_only():
    declared = pd.DataFrame([{"division_code": "330102", "year": 2025, "population": 7, "live_births": 1,
                              "children_under_7": 2, "source": "s"}])
    merged = declared_population(REFERENCE, declared)
    assert len(merged) == len(REFERENCE)
    rows = merged.set_index(["division_code", "year"])
    assert rows.loc[("330102", 2025), "population"] == 7
    assert rows.loc[("330102", 2026), "population"] == 1_343_000
    empty = declared_population(REFERENCE, declared.iloc[0:0])
    assert empty.reset_index(drop=True).equals(REFERENCE.astype(empty.dtypes.to_dict()).reset_index(drop=True))
