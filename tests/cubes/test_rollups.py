"""Week and month rollups stay exact: a refresh of a few days recomputes their whole week / month."""
from __future__ import annotations

from datetime import date

import pandas as pd

from olap import apply_schema
from olap.rollups import ROLLUPS, refresh

_VISIT_COLUMNS = {"source_row_id": 0, "document_row_id": 0, "message_row_id": 0, "person_key": "p", "sex": "1",
                  "age_band": "15-44", "department_code": "D", "kind": "outpatient", "primary_diagnosis_code": "I10",
                  "drug_fen": 100, "deleted": 0}


def _visits(days: list[str], *, version: int, deleted: int = 0) -> pd.DataFrame:
    frame = pd.DataFrame({"fact_key": [f"record_encounter:{i}" for i in range(len(days))],
                          "date": pd.to_datetime(days).astype("datetime64[s]"), "institution_code": "H01",
                          "total_fen": 1000, "version": version,
                          "loaded_at": pd.Timestamp("2026-01-01", tz="UTC")})
    return frame.assign(**(_VISIT_COLUMNS | {"deleted": deleted}))


def _cells(olap, table: str) -> dict[str, int]:
    frame = olap.query_df(f"SELECT date, visits FROM (SELECT date, visits, deleted FROM {table} FINAL) "
                          "WHERE deleted = 0 ORDER BY date")
    return {str(day)[:10]: int(visits) for day, visits in zip(frame["date"], frame["visits"])}


def test_a_partial_refresh_recomputes_whole_weeks_and_months(olap):
    apply_schema(olap)
    days = ["2026-03-02", "2026-03-04", "2026-03-20", "2026-03-31", "2026-04-01"]  # Monday 2 March …
    olap.insert_df("fact_outpatient_visit", _visits(days, version=1))
    for name in ("rollup_visits_institution_week", "rollup_visits_institution_month"):
        refresh(olap, ROLLUPS[name], date_from=date(2026, 3, 1), date_to=date(2026, 4, 1), version=1)
    assert _cells(olap, "rollup_visits_institution_month") == {"2026-03-01": 4, "2026-04-01": 1}
    assert _cells(olap, "rollup_visits_institution_week") == {"2026-03-02": 2, "2026-03-16": 1, "2026-03-30": 2}

    # the visit of 4 March is retracted; the ETL refreshes that one day: the whole week and month follow
    olap.insert_df("fact_outpatient_visit", _visits(days, version=2).iloc[[1]].assign(deleted=1))
    for name in ("rollup_visits_institution_week", "rollup_visits_institution_month"):
        refresh(olap, ROLLUPS[name], date_from=date(2026, 3, 4), date_to=date(2026, 3, 4), version=2)
    assert _cells(olap, "rollup_visits_institution_month") == {"2026-03-01": 3, "2026-04-01": 1}
    assert _cells(olap, "rollup_visits_institution_week") == {"2026-03-02": 1, "2026-03-16": 1, "2026-03-30": 2}
