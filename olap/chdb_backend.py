"""The embedded engine: chDB (ClickHouse in-process), data in a directory under the hub's data dir.

chDB runs one embedded server per process, bound to the first path it was opened with (opening a
second path raises ``BAD_ARGUMENTS``): every :class:`ChdbBackend` of a process must share that path,
and may use different databases in it. Opening the first connection costs ≈ 0.6 s (library load),
later ones ≈ 1 ms; a backend keeps its connection open for its whole life.
"""
from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .backend import Backend, Params
from .capabilities import parse_version
from .errors import BackendUnavailable, QueryError, engine_message
from .frames import normalize_chdb_frame
from .sqlparams import bind, identifier

if TYPE_CHECKING:
    import pandas as pd

_ENGINE_CODE = re.compile(r"Code: (\d+)")
_ONE_THREAD = " SETTINGS max_threads = 1, max_final_threads = 1"  # a small read: ~1.3 ms less (bench.cubes)
_opened_path: Path | None = None
_opened_lock = threading.Lock()


def _claim_path(path: Path) -> None:
    """Refuse a second chDB path in this process before chDB does (its error names no remedy)."""
    global _opened_path
    with _opened_lock:
        if _opened_path is None:
            _opened_path = path
        elif _opened_path != path:
            raise BackendUnavailable("olap.chdb.path_conflict",
                                     "chDB is already open on another directory in this process", path=str(path),
                                     open_path=str(_opened_path))


class ChdbBackend(Backend):
    """The mart in chDB at ``path`` (created if missing), in ``database``."""

    def __init__(self, path: str | os.PathLike[str], database: str = "mart") -> None:
        try:
            from chdb import session as chdb_session
        except ImportError as exc:
            raise BackendUnavailable("olap.chdb.missing", "the chdb package is not installed") from exc
        self.database = identifier(database)
        self.path = Path(path).resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        _claim_path(self.path)
        self._lock = threading.Lock()
        try:
            self._session = chdb_session.Session(str(self.path))
        except Exception as exc:  # chDB raises bare RuntimeError subclasses
            raise BackendUnavailable("olap.chdb.open", engine_message(str(exc)), path=str(self.path)) from exc
        self._run(f"CREATE DATABASE IF NOT EXISTS {self.database}", "CSV")
        self._run(f"USE {self.database}", "CSV")  # per connection: unqualified names mean this database

    def _run(self, sql: str, fmt: str):
        with self._lock:
            if self._session is None:
                raise BackendUnavailable("olap.backend.closed", "backend is closed")
            try:
                return self._session.query(sql, fmt)
            except Exception as exc:
                message = str(exc)
                found = _ENGINE_CODE.search(message)
                raise QueryError("olap.query.failed", engine_message(message),
                                 engine_code=int(found.group(1)) if found else None, engine="chdb") from None

    def execute(self, sql: str, params: Params = None) -> None:
        self._run(bind(sql, params), "CSV")

    def query_df(self, sql: str, params: Params = None, *, small: bool = False) -> "pd.DataFrame":
        statement = bind(sql, params) + (_ONE_THREAD if small else "")
        frame = self._run(statement, "DataFrame")
        if frame.empty and (frame.dtypes == object).any():
            # Text or array? An empty frame does not say; the result's types do (rare, cheap).
            described = self._run(f"DESCRIBE ({statement})", "DataFrame")
            frame = normalize_chdb_frame(frame, dict(zip(described["name"], described["type"])))
        return frame

    def insert_df(self, table: str, df: "pd.DataFrame") -> int:
        """Stream ``df`` as Arrow IPC into ``table`` (no temporary files, no DataFrame look-up by name)."""
        import pyarrow as pa

        if df.empty:
            return 0
        columns = ", ".join(identifier(str(name)) for name in df.columns)
        arrow = pa.Table.from_pandas(df, preserve_index=False)
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, arrow.schema) as writer:
            writer.write_table(arrow)
        # Every read of the mart merges row versions itself (FINAL), so collapsing them inside each
        # inserted block too is wasted work: a quarter of a big ETL run's CPU here (bench.etl).
        statement = f"INSERT INTO {self.database}.{identifier(table)} ({columns}) SETTINGS optimize_on_insert = 0"
        with self._lock:
            if self._session is None:
                raise BackendUnavailable("olap.backend.closed", "backend is closed")
            try:
                with self._session.send_insert(statement, "ArrowStream") as inserter:
                    inserter.append(sink.getvalue())
                    result = inserter.finish()
            except Exception as exc:
                found = _ENGINE_CODE.search(str(exc))
                raise QueryError("olap.query.failed", engine_message(str(exc)),
                                 engine_code=int(found.group(1)) if found else None, engine="chdb",
                                 table=table) from None
        return int(result.rows_written)

    def version(self) -> tuple[int, ...]:
        frame = self._run("SELECT version() AS v", "DataFrame")
        return parse_version(str(frame["v"].iloc[0]))

    def drop_database(self) -> None:
        """Drop this backend's database and everything in it (tests; a rebuild from OLTP)."""
        self._run(f"DROP DATABASE IF EXISTS {self.database}", "CSV")

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


__all__ = ["ChdbBackend"]
