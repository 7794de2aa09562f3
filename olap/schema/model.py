"""Declarations of the mart's tables: plain values that the DDL renderer and the loaders read.

Every table of the mart is a ``ReplacingMergeTree(version)``: a row's identity is its ``ORDER BY``
tuple, the row with the highest ``version`` wins, and a row with ``deleted = 1`` is a retraction.
Re-inserting a batch therefore never double counts once reads are exact (see ``docs/olap.md``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class TableKind(str, Enum):
    DIMENSION = "dimension"  # small, copied whole to every node of a cluster
    FACT = "fact"            # one row per OLTP row, sharded by fact key on a cluster
    ROLLUP = "rollup"        # exact pre-aggregation recomputed by the ETL, sharded by its cell
    META = "meta"            # bookkeeping of the mart itself (schema versions), on every node


@dataclass(frozen=True)
class Column:
    """A column; ``type`` is ClickHouse SQL (``LowCardinality(…)`` is dropped where unsupported)."""

    name: str
    type: str
    comment: str = ""


@dataclass(frozen=True)
class Table:
    """A mart table: its columns, identity (``order_by``), partitioning and, on a cluster, shard key."""

    name: str
    kind: TableKind
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    partition_by: str | None = None
    shard_key: str | None = None
    comment: str = ""

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names")
        missing = [name for name in (*self.order_by, "version") if name not in names]
        if missing:
            raise ValueError(f"{self.name}: order_by/version columns not declared: {missing}")
        if (self.shard_key is None) != (self.kind in (TableKind.DIMENSION, TableKind.META)):
            raise ValueError(f"{self.name}: facts and rollups need a shard key, dimensions must not have one")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def sharded(self) -> bool:
        return self.shard_key is not None


__all__ = ["TableKind", "Column", "Table"]
