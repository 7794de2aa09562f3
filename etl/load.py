"""Write a run's facts into the mart so that re-running it, or crashing half-way, never double counts.

Every mart table is a ``ReplacingMergeTree(version)`` keyed by ``(institution_code, date,
fact_key)``: loading the same OLTP row again replaces it (a higher ``version`` wins), so a re-run
is harmless. Rows that no longer exist in OLTP (a document replaced by a new version, whose rows
were rewritten under new ids, or cancelled) get a ``deleted = 1`` row at their old identity.
Rollups are recomputed, whole cells at a time, from the exact fact rows of the days a run touched.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from olap.backend import Backend
from olap.rollups import ROLLUPS, fact_of, refresh, refresh_everything
from olap.schema.versions import table

from .exact_facts import EXACT_FACTS

_IDENTITY = ("fact_key", "institution_code", "date")  # a mart row's identity (its ORDER BY columns)


def _identities(frame: pd.DataFrame) -> pd.Series:
    days = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return frame["fact_key"].astype(str) + "|" + frame["institution_code"].astype(str) + "|" + days


def tombstones(mart: Backend, fact: str, document_row_ids: list[int], keep: pd.DataFrame, *, version: int,
               loaded_at: pd.Timestamp) -> pd.DataFrame:
    """``deleted = 1`` rows for the live facts of ``document_row_ids`` whose identity (key, institution,
    date) is not in ``keep`` (the rows being loaded). The identity, not the key alone: SQLite reuses
    the row ids a new version freed, so a key can come back on another day or institution."""
    if not document_row_ids:
        return pd.DataFrame()
    live = exact(mart, fact, "document_row_id IN (SELECT arrayJoin({ids:Array(UInt64)}))",
                 {"ids": [int(i) for i in document_row_ids]},
                 columns=("fact_key", "institution_code", "date", "document_row_id"))
    if live.empty:
        return pd.DataFrame()
    kept = set(_identities(keep[list(_IDENTITY)])) if not keep.empty else set()
    gone = live[~_identities(live).isin(kept)]
    if gone.empty:
        return pd.DataFrame()
    return _blank_rows(fact, gone, version=version, loaded_at=loaded_at, deleted=1)


def documents_dated(mart: Backend, facts: list[str], start, end) -> tuple[int, ...]:
    """The documents with live facts dated in [start, end] (local dates) in any of ``facts``."""
    found: set[int] = set()
    for fact in facts:
        rows = exact(mart, fact, "date >= {low:Date} AND date <= {high:Date}", {"low": start, "high": end},
                     columns=("DISTINCT document_row_id",))
        found |= {int(value) for value in rows["document_row_id"] if int(value)}
    return tuple(sorted(found))


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


def refresh_rollups(mart: Backend, touched: pd.DataFrame, *, version: int,
                    changed_dimensions: frozenset[str] = frozenset()) -> list[str]:
    """Recompute every rollup over the fact a run touched, for the days it touched (whole cells,
    server-side: ``olap.rollups.refresh``), and over every day the rollups that take cell columns
    from a dimension the run changed (an institution moved to another district); the rollups refreshed."""
    refreshed = []
    for rollup in ROLLUPS.values():
        if rollup.through is not None and rollup.through.table in changed_dimensions:
            if refresh_everything(mart, rollup, version=version):
                refreshed.append(rollup.name)
            continue
        days = touched.loc[touched["fact"] == fact_of(rollup), "date"] if not touched.empty else touched
        if days.empty:
            continue
        days = pd.to_datetime(days)
        refresh(mart, rollup, date_from=days.min().date(), date_to=days.max().date(), version=version)
        refreshed.append(rollup.name)
    return refreshed


__all__ = ["tombstones", "documents_dated", "exact", "insert", "refresh_rollups"]
