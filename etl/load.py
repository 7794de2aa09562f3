"""Write a run's facts into the mart so that re-running it, or crashing half-way, never double counts.

Every mart table is a ``ReplacingMergeTree(version)`` keyed by ``(institution_code, date,
fact_key)``: loading the same OLTP row again replaces it (a higher ``version`` wins), so a re-run
is harmless. Rows that no longer exist in OLTP (a document replaced by a new version, whose rows
were rewritten under new ids, or cancelled) get a ``deleted = 1`` row at their old identity.
Rollups are recomputed, whole cells at a time, from the exact fact rows of the cells a run touched.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from olap.backend import Backend
from olap.schema.migrate import table

from .read import EXACT_FACTS


def tombstones(mart: Backend, fact: str, document_ids: list[int], keep: pd.Series, *, version: int,
               loaded_at: pd.Timestamp) -> pd.DataFrame:
    """``deleted = 1`` rows for the live facts of ``document_ids`` whose key is not in ``keep``."""
    if not document_ids:
        return pd.DataFrame()
    live = exact(mart, fact, "document_id IN (SELECT arrayJoin({ids:Array(UInt64)}))", {"ids": [int(i) for i in document_ids]},
                 columns=("fact_key", "institution_code", "date", "document_id"))
    gone = live[~live["fact_key"].isin(set(keep))]
    if gone.empty:
        return pd.DataFrame()
    return _blank_rows(fact, gone, version=version, loaded_at=loaded_at, deleted=1)


def exact(mart: Backend, fact: str, condition: str, params: dict, *, columns: tuple[str, ...]) -> pd.DataFrame:
    """The live (highest version, not deleted) rows of ``fact`` matching ``condition``."""
    return mart.query_df(EXACT_FACTS.format(columns=", ".join(columns), table=fact, condition=condition), params)


def _blank_rows(name: str, identity: pd.DataFrame, *, version: int, loaded_at: pd.Timestamp,
                deleted: int) -> pd.DataFrame:
    """Rows of table ``name`` with ``identity``'s columns and type defaults elsewhere."""
    declared = table(name)
    count = len(identity)
    columns = {}
    for column in declared.columns:
        if column.name in identity.columns:
            columns[column.name] = identity[column.name].to_numpy()
        elif column.name == "version":
            columns[column.name] = np.full(count, version, dtype="uint64")
        elif column.name == "deleted":
            columns[column.name] = np.full(count, deleted, dtype="uint8")
        else:
            columns[column.name] = _default(column.type, count, loaded_at)
    return pd.DataFrame(columns)


def _default(type_sql: str, count: int, loaded_at: pd.Timestamp):
    if type_sql.startswith("Nullable("):
        return pd.Series([None] * count, dtype=object)
    inner = type_sql.replace("LowCardinality(", "").rstrip(")")
    if inner.startswith(("UInt", "Int")):
        return pd.Series([0] * count, dtype=inner.lower())
    if inner.startswith("Float"):
        return pd.Series([0.0] * count, dtype="float64")
    if inner == "Date":
        return pd.Series([pd.Timestamp("1970-01-01")] * count).astype("datetime64[s]")
    if inner.startswith("DateTime"):
        return pd.Series([loaded_at] * count).astype("datetime64[s, UTC]")
    return pd.Series([""] * count, dtype=object)


def insert(mart: Backend, fact: str, frames: list[pd.DataFrame]) -> int:
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return 0
    return mart.insert_df(fact, pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])


VISITS_ROLLUP = "rollup_visits_institution_day"


def refresh_visits_rollup(mart: Backend, cells: pd.DataFrame, *, version: int, loaded_at: pd.Timestamp) -> int:
    """Recompute the visits rollup for the (institution_code, date) ``cells`` a run touched.

    First a ``deleted = 1`` row for every live rollup row of those cells (cells can empty out), then
    the recomputed rows at a higher version, so the recomputation wins wherever it has a row.
    """
    if cells.empty:
        return 0
    cells = cells.drop_duplicates()
    institutions = sorted(set(cells["institution_code"]))
    days = sorted({value.date() for value in pd.to_datetime(cells["date"])})
    params = {"institutions": institutions, "days": days}
    # IN (SELECT arrayJoin(…)): ClickHouse 18.16 has no IN over an array value; a subquery set works everywhere
    cell_condition = ("institution_code IN (SELECT arrayJoin({institutions:Array(String)})) "
                      "AND date IN (SELECT arrayJoin({days:Array(Date)}))")
    old = exact(mart, VISITS_ROLLUP, cell_condition, params,
                columns=("institution_code", "date", "department_code", "kind"))
    fresh = mart.query_df(
        "SELECT institution_code, date, department_code, kind, count() AS visits, sum(total_fen) AS total_fen, "
        "sum(drug_fen) AS drug_fen FROM (" + EXACT_FACTS.format(
            columns="institution_code, date, department_code, kind, total_fen, drug_fen",
            table="fact_outpatient_visit", condition=cell_condition) + ") "
        "GROUP BY institution_code, date, department_code, kind", params)
    wanted = set(map(tuple, cells[["institution_code", "date"]].astype(str).to_numpy()))
    if not old.empty:
        old = old[[key in wanted for key in zip(old["institution_code"], old["date"].astype(str))]]
    if not fresh.empty:
        fresh = fresh[[key in wanted for key in zip(fresh["institution_code"], fresh["date"].astype(str))]]
    deleted = _blank_rows(VISITS_ROLLUP, old, version=version, loaded_at=loaded_at, deleted=1) if len(old) else None
    if deleted is not None:
        mart.insert_df(VISITS_ROLLUP, deleted)
    if fresh.empty:
        return 0
    rows = _blank_rows(VISITS_ROLLUP, fresh.astype({"visits": "uint64", "total_fen": "int64", "drug_fen": "int64"}),
                       version=version + 1, loaded_at=loaded_at, deleted=0)
    return mart.insert_df(VISITS_ROLLUP, rows)


__all__ = ["tombstones", "exact", "insert", "refresh_visits_rollup", "VISITS_ROLLUP"]
