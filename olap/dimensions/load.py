"""Idempotent dimension loads: write only what changed, retract what disappeared.

A dimension frame is conformed to the table's dtypes and compared with the live rows (read
exactly, ``FINAL`` + ``deleted = 0``): new or changed rows are written with a new ``version``, keys
that are no longer in the frame get a ``deleted = 1`` row. Loading the same frame twice writes
nothing the second time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from ..backend import Backend
from ..frames import conform
from ..schema.model import TableKind
from ..schema.versions import table as declared_table
from ..sqlparams import identifier

_STATE = ("version", "deleted")


@dataclass(frozen=True)
class DimensionLoad:
    """Row counts of one dimension load."""

    table: str
    written: int
    retracted: int
    unchanged: int


def load_dimension(backend: Backend, name: str, frame: pd.DataFrame, *, version: int | None = None,
                   retract_missing: bool = True) -> DimensionLoad:
    """Bring dimension ``name`` to exactly the rows of ``frame`` (keys not in it are retracted)."""
    table = declared_table(name)
    if table.kind is not TableKind.DIMENSION:
        raise ValueError(f"{name} is not a dimension")
    version = version if version is not None else time.time_ns()
    columns = [column for column in table.column_names if column not in _STATE]
    types = {column.name: column.type for column in table.columns}
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name}: frame lacks columns {missing}")
    wanted = conform(frame[columns].drop_duplicates(subset=list(table.order_by), keep="last"), types)
    current = conform(backend.query_df(
        f"SELECT {', '.join(identifier(c) for c in columns)} FROM {identifier(name)} FINAL WHERE deleted = 0"),
        types)

    compared = wanted.merge(current, how="left", on=columns, indicator=True)
    changed = compared[compared["_merge"] == "left_only"][columns]
    keys = list(table.order_by)
    gone = current.merge(wanted[keys], how="left", on=keys, indicator=True)
    gone = gone[gone["_merge"] == "left_only"][columns] if retract_missing else gone.iloc[0:0][columns]

    batch = pd.concat([changed.assign(deleted=0), gone.assign(deleted=1)], ignore_index=True)
    if len(batch):
        batch["version"] = version
        backend.insert_df(name, conform(batch, types))
    return DimensionLoad(table=name, written=len(changed), retracted=len(gone),
                         unchanged=len(wanted) - len(changed))


__all__ = ["DimensionLoad", "load_dimension"]
