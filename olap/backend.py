"""The contract every ClickHouse engine of the mart fulfils, and what each engine version can do.

Two engines stand behind it: chDB in-process (the embedded default) and a ClickHouse server over
the native protocol (production, optionally a cluster). Callers write one SQL dialect — the one
both ClickHouse 18.16 (Debian's server) and current ClickHouse (chDB 4.4 = 26.9) accept — with
``{name:Type}`` placeholders (:mod:`olap.sqlparams`), and read :class:`Capabilities` to use a newer
feature only where it exists.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .capabilities import Capabilities

if TYPE_CHECKING:
    import pandas as pd

    from .schema.model import Table

Params = Mapping[str, Any] | None


class Backend(ABC):
    """One ClickHouse database of the mart, on one engine.

    Statements use unqualified table names: each backend is bound to its ``database``. A backend is
    safe to share between threads (each guards its connection with a lock).
    """

    database: str

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement that returns no rows (DDL, ``INSERT … SELECT``, ``OPTIMIZE``)."""

    @abstractmethod
    def query_df(self, sql: str, params: Params = None, *, small: bool = False) -> "pd.DataFrame":
        """Run a query; the same column dtypes on every engine (see ``docs/olap.md``). ``small``: it
        reads a small table (a week or month rollup), where an engine's threads cost more than they
        save — engines that can run it on one thread."""

    @abstractmethod
    def insert_df(self, table: str, df: "pd.DataFrame") -> int:
        """Append the rows of ``df`` (columns named as in the table) to ``table``; returns the row count."""

    @abstractmethod
    def version(self) -> tuple[int, ...]:
        """The engine's ClickHouse version, e.g. ``(18, 16, 1)``."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the data stays."""

    @property
    def capabilities(self) -> Capabilities:
        """What this engine can do (computed once from :meth:`version`)."""
        cached = getattr(self, "_capabilities", None)
        if cached is None:
            cached = Capabilities.for_version(self.version())
            self._capabilities = cached
        return cached

    def create_table(self, table: "Table") -> None:
        """Create ``table`` if it does not exist (one node: a single table)."""
        from .schema.ddl import create_table_sql

        self.execute(create_table_sql(table, self.capabilities))

    def drop_table(self, table: "Table") -> None:
        """Drop ``table`` if it exists (a schema version that rebuilds it; the ETL reloads it)."""
        self.execute(f"DROP TABLE IF EXISTS {table.name}")

    def table_names(self) -> set[str]:
        """Names of the tables in this backend's database."""
        frame = self.query_df("SELECT name FROM system.tables WHERE database = {db:String}",
                              {"db": self.database})
        return set(frame["name"])

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = ["Backend", "Params"]
