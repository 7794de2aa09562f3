"""Apply the mart's schema versions in order, recording each in ``mart_schema_version``.

Every statement is ``CREATE … IF NOT EXISTS``, so a run that crashed half-way is finished by the
next one, and applying an already-applied schema is a no-op (nothing is created or recorded).
A mart newer than this code is refused rather than written to. A rollup that a version adds to a
mart that already has facts is filled from them before the version is recorded (a cube would
otherwise read the empty rollup and answer zero). A version may rebuild tables (``REBUILD``: the
mart is derived data): they are dropped and created anew, and ``rebuilt_at`` tells the ETL to
reload everything its watermarks say it loaded before that moment.
"""
from __future__ import annotations

from datetime import datetime, timezone
from types import ModuleType

import pandas as pd

from ..backend import Backend
from ..errors import SchemaError
from .model import Table, TableKind
from .versions import SCHEMA_TABLE, VERSIONS


def current_version(backend: Backend) -> int:
    """The highest schema version applied to the mart (0 for an empty mart)."""
    backend.create_table(SCHEMA_TABLE)
    frame = backend.query_df("SELECT max(schema_version) AS v FROM mart_schema_version")
    return int(frame["v"].iloc[0]) if len(frame) else 0


def apply_schema(backend: Backend, versions: tuple[ModuleType, ...] = VERSIONS) -> list[int]:
    """Create what each not-yet-applied version declares; returns the versions applied now."""
    current = current_version(backend)
    latest = max(module.VERSION for module in versions)
    if current > latest:
        raise SchemaError("olap.schema.newer", "the mart was built by a newer version of this code",
                          mart_version=current, code_version=latest)
    applied = []
    for module in sorted(versions, key=lambda module: module.VERSION):
        if module.VERSION <= current:
            continue
        rebuilt = set(getattr(module, "REBUILD", ()))
        for table in module.TABLES:
            if table.name in rebuilt:
                backend.drop_table(table)
            backend.create_table(table)
        if current:
            _fill_new_rollups(backend, module.TABLES)
        now = datetime.now(timezone.utc)
        backend.insert_df(SCHEMA_TABLE.name, pd.DataFrame({
            "schema_version": [module.VERSION], "description": [module.DESCRIPTION],
            "applied_at": [now], "version": [int(now.timestamp() * 1_000_000)]}))
        applied.append(module.VERSION)
    return applied


def rebuilt_at(backend: Backend, versions: tuple[ModuleType, ...] = VERSIONS) -> datetime | None:
    """When the latest applied version that rebuilt tables was applied (None: no rebuild ever)."""
    rebuilding = [module.VERSION for module in versions if getattr(module, "REBUILD", ())]
    if not rebuilding:
        return None
    frame = backend.query_df("SELECT max(applied_at) AS at, count() AS n FROM mart_schema_version "
                             "WHERE has({versions:Array(UInt32)}, schema_version)", {"versions": rebuilding},
                             small=True)
    if not len(frame) or not int(frame["n"].iloc[0]):
        return None
    at = pd.Timestamp(frame["at"].iloc[0])
    return (at if at.tzinfo else at.tz_localize("UTC")).to_pydatetime()


def _fill_new_rollups(backend: Backend, tables: tuple[Table, ...]) -> None:
    """Compute the rollups among ``tables`` over every day their facts cover (an upgrade, not the ETL)."""
    from ..rollups import ROLLUPS, refresh_everything

    for declared in tables:
        if declared.kind is TableKind.ROLLUP and declared.name in ROLLUPS:
            refresh_everything(backend, ROLLUPS[declared.name],
                               version=int(datetime.now(timezone.utc).timestamp() * 1_000_000))


__all__ = ["current_version", "apply_schema", "rebuilt_at"]
