"""Synthetic visit facts for the OLAP tests (made up here: no real institutions or persons)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd

INSTITUTIONS = ("H330102001", "C330106002", "C330110003")
LOADED_AT = datetime(2024, 7, 1, tzinfo=timezone.utc)


def visits(ids: range, *, version: int = 1, deleted: int = 0, start: date = date(2024, 1, 1),
           amount_fen: int = 1500) -> pd.DataFrame:
    """One outpatient visit fact per OLTP id; institution and day follow from the id."""
    rows = [{
        "fact_key": f"record_encounter:{i}", "date": start + timedelta(days=i % 75),
        "institution_code": INSTITUTIONS[i % len(INSTITUTIONS)], "source_row_id": i, "document_row_id": 10_000 + i,
        "message_row_id": 20_000 + i, "loaded_at": LOADED_AT, "person_key": f"p{i % 97:04d}",
        "sex": "1" if i % 2 else "2", "age_band": "15-44", "department_code": "03" if i % 4 else "",
        "kind": "emergency" if i % 10 == 0 else "outpatient", "primary_diagnosis_code": "J18.9",
        "total_fen": amount_fen + i, "drug_fen": i % 500, "version": version, "deleted": deleted,
    } for i in ids]
    return pd.DataFrame(rows)


def expected_by_institution(frame: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """(visits, total_fen) per institution computed with pandas: the reference answer."""
    grouped = frame.groupby("institution_code").agg(visits=("fact_key", "size"), total=("total_fen", "sum"))
    return {code: (int(row.visits), int(row.total)) for code, row in grouped.iterrows()}
