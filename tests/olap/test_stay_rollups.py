"""The stays rollups hold exactly what the facts hold: admissions by the month a stay began,
discharges by the month it ended — also after a stay's discharge moves to another month and the
ETL refreshes only the days it touched (its admission date)."""
from __future__ import annotations

from datetime import date

import pandas as pd

from olap import apply_schema
from olap.cubes import execute, parse_query
from olap.rollups import ADMISSIONS_INSTITUTION_MONTH, DISCHARGES_INSTITUTION_MONTH, refresh

# (institution, department, admitted, discharged or None, bed-days, charge in fen)
_STAYS = [("H01", "D1", "2026-09-28", "2026-10-03", 5, 50_000), ("H01", "D1", "2026-10-02", "2026-10-12", 10, 91_000),
          ("H01", "D2", "2026-10-20", "2026-11-02", 13, 120_000), ("H02", "D1", "2026-10-30", None, 0, 0),
          ("H02", "D1", "2026-11-03", "2026-11-05", 2, 18_000), ("H02", "D2", "2026-11-10", "2026-12-24", 44, 400_000),
          ("H01", "D1", "2025-11-11", "2025-11-20", 9, 70_000)]


def _stays(rows: list[tuple], *, version: int, deleted: int = 0, first: int = 0) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["institution_code", "department_code", "date", "discharge_date", "bed_days",
                                        "total_fen"])
    count = len(frame)
    return frame.assign(
        fact_key=[f"record_stay:{first + i}" for i in range(count)], date=pd.to_datetime(frame["date"]).dt.date,
        discharge_date=[date.fromisoformat(day) if isinstance(day, str) else None for day in frame["discharge_date"]],
        source_row_id=range(count), document_row_id=range(count), message_row_id=range(count),
        loaded_at=pd.Timestamp("2026-12-01", tz="UTC"), person_key=[f"p{first + i}" for i in range(count)], sex="1",
        age_band="45-64", discharge_outcome="1", primary_diagnosis_code="I63", version=version, deleted=deleted)


def _held(olap, rollup, measures: list[str]) -> dict:
    day = rollup.date_column
    frame = olap.query_df(f"SELECT toString({day}) AS month, institution_code, department_code, "
                          f"{', '.join(measures)} FROM {rollup.name} FINAL WHERE deleted = 0")
    return {(row["month"][:7], row["institution_code"], row["department_code"]): tuple(int(row[m]) for m in measures)
            for row in frame.to_dict("records")}


def _expected(stays: pd.DataFrame, column: str, measures: dict) -> dict:
    stays = stays[stays[column].notna()]
    months = pd.to_datetime(stays[column]).dt.strftime("%Y-%m")
    grouped = stays.assign(month=months).groupby(["month", "institution_code", "department_code"]).agg(**measures)
    return {key: tuple(int(v) for v in values) for key, values in zip(grouped.index, grouped.to_numpy())}


def _refresh(olap, touched: pd.Series, version: int) -> None:
    """What the ETL does: each rollup of the fact, for the (admission) days the run touched."""
    for rollup in (ADMISSIONS_INSTITUTION_MONTH, DISCHARGES_INSTITUTION_MONTH):
        refresh(olap, rollup, date_from=min(touched), date_to=max(touched), version=version)


def test_the_stays_rollups_equal_the_facts_after_a_discharge_moves(olap):
    apply_schema(olap)
    stays = _stays(_STAYS, version=1)
    olap.insert_df("fact_inpatient_stay", stays)
    _refresh(olap, stays["date"], 1)
    admissions = {"admissions": ("fact_key", "size")}
    discharges = {"discharges": ("fact_key", "size"), "bed_days": ("bed_days", "sum"), "total_fen": ("total_fen", "sum")}
    assert _held(olap, ADMISSIONS_INSTITUTION_MONTH, ["admissions"]) == _expected(stays, "date", admissions)
    assert _held(olap, DISCHARGES_INSTITUTION_MONTH, ["discharges", "bed_days", "total_fen"]) == \
        _expected(stays, "discharge_date", discharges)

    # the stay of 20 October was in fact discharged on 30 October, the one still in hospital on
    # 1 December, and the stay of 10 November is retracted: the run touched their admission days only
    changed = _stays([_STAYS[2][:3] + ("2026-10-30", 10, 100_000), _STAYS[3][:3] + ("2026-12-01", 32, 300_000),
                      _STAYS[5]], version=2, first=0)
    changed["fact_key"] = [stays["fact_key"][2], stays["fact_key"][3], stays["fact_key"][5]]
    changed.loc[2, "deleted"] = 1
    olap.insert_df("fact_inpatient_stay", changed)
    _refresh(olap, changed["date"], 2)
    now = pd.concat([stays.drop(index=[2, 3, 5]), changed[changed["deleted"] == 0]], ignore_index=True)
    assert _held(olap, DISCHARGES_INSTITUTION_MONTH, ["discharges", "bed_days", "total_fen"]) == \
        _expected(now, "discharge_date", discharges)  # November's and December's cells lost the moved stays
    assert _held(olap, ADMISSIONS_INSTITUTION_MONTH, ["admissions"]) == _expected(now, "date", admissions)

    # a whole month's charge per bed-day reads the rollup, and says what the facts say
    query = parse_query("discharges", {"measures": ["discharges", "bed_days", "total_fen"],
                                       "indicators": ["charge_per_bed_day"], "group_by": ["institution.department"],
                                       "period": {"from": "2026-10-01", "to": "2026-10-31"},
                                       "having": [{"name": "discharges", "op": ">=", "value": 0}]},
                        today=date(2026, 12, 1))
    answer = execute(olap, query)
    assert answer["sources"] == {"discharges": "rollup_discharges_institution_month"}
    october = now[pd.to_datetime(now["discharge_date"]).dt.strftime("%Y-%m") == "2026-10"]
    expected = october.groupby("department_code").agg(discharges=("fact_key", "size"), bed_days=("bed_days", "sum"),
                                                      total_fen=("total_fen", "sum"))
    for cell in answer["cells"]:  # a few stays: every cell is small and withheld, the structure still holds
        assert cell["institution.department"] in expected.index
    assert len(answer["cells"]) == len(expected)
