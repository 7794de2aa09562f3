"""The mart's schema versions, in order, and the latest declaration of each table."""
from __future__ import annotations

from types import ModuleType

from . import v1, v2, v3, v4, v5, v6, v7, v8, v9
from .model import Column, Table, TableKind

VERSIONS: tuple[ModuleType, ...] = (v1, v2, v3, v4, v5, v6, v7, v8, v9)

SCHEMA_TABLE = Table(
    name="mart_schema_version", kind=TableKind.META,
    columns=(Column("schema_version", "UInt32"), Column("description", "String"),
             Column("applied_at", "DateTime('UTC')"), Column("version", "UInt64")),
    order_by=("schema_version",), comment="one row per applied schema version")


def table(name: str) -> Table:
    """The latest declaration of mart table ``name``."""
    for module in sorted(VERSIONS, key=lambda module: module.VERSION, reverse=True):
        for declared in module.TABLES:
            if declared.name == name:
                return declared
    if name == SCHEMA_TABLE.name:
        return SCHEMA_TABLE
    raise KeyError(name)


__all__ = ["VERSIONS", "SCHEMA_TABLE", "table"]
