"""What the hub's command line knows about failures beyond the roots' codes (``protocol.cli``):
the OLTP database, the mart's engines, and the command-line's own refusals."""
from __future__ import annotations

import click

from protocol.cli import OneLineGroup

MAX_ROW_ID = 2**63 - 1  # the largest row id SQLite and PostgreSQL (BIGINT) can hold
ROW_ID = click.IntRange(1, MAX_ROW_ID)


def database_line(error: BaseException) -> str | None:
    """A SQLAlchemy failure by kind and the driver's error name, never its message (it may quote values)."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    if not isinstance(error, SQLAlchemyError):
        return None
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    kind = type(orig).__name__ if orig is not None else type(error).__name__
    why = f"({kind}{f' {state}' if state else ''})"
    if isinstance(error, OperationalError):
        return f"database.unavailable: the OLTP database cannot be opened or reached {why}"
    return f"database.error: the OLTP database failed the operation {why}"


def mart_line(error: BaseException) -> str | None:
    """The mart's engines: a ClickHouse server that is down or went away is ``olap.unavailable``."""
    from olap.errors import BackendUnavailable

    if isinstance(error, BackendUnavailable) and error.code == "olap.server.unreachable":
        where = error.fields.get("address")
        return f"olap.unavailable: ClickHouse server{f' at {where}' if where else ''} not reachable"
    if isinstance(error, BackendUnavailable) and error.code == "olap.cluster.unavailable":
        return f"olap.unavailable: {error.detail}"  # a shard without a live replica, ZooKeeper away
    return None  # the driver's own errors never get here: olap's one choke point maps them (server_backend)


class HubGroup(OneLineGroup):
    """``hie``'s group: every command ends a failure in one line (``protocol.cli.OneLineGroup``)."""

    def describe(self, error: BaseException) -> str | None:
        return database_line(error) or mart_line(error)

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", HubGroup)
        return super().group(*args, **kwargs)


__all__ = ["HubGroup", "MAX_ROW_ID", "ROW_ID", "database_line", "mart_line"]
