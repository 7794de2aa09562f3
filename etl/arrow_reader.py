"""Read and transform a large SQLite selection in a separate process, straight into Arrow.

Python's ``sqlite3`` builds a Python object per value: reading is most of a big load's time.
ADBC's SQLite driver reads ~4x faster into Arrow — but it links its own copy of SQLite, and two
copies of SQLite in one process break SQLite's POSIX locks (measured: stale reads, then
"disk I/O error" on the hub's connection). So it runs only in processes forked from a fork server
(never from the hub: nothing of its connections inherited), opens the store read-only, and sends back finished fact frames
while the parent writes the previous one into the mart: the two cores work in parallel.
"""
from __future__ import annotations

import re
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context

import pandas as pd

from . import extract
from .facts import MESSAGE_FACT, MESSAGE_SELECT, SOURCES
from .transform import SQLITE_TIME, Pseudonymizer, transform_facts, transform_messages

_PARAMETER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def available() -> bool:
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def _arrow_query(path: str, sql: str, params: dict) -> pd.DataFrame:
    import adbc_driver_sqlite.dbapi as adbc

    names = _PARAMETER.findall(sql)
    values = [params[name].astimezone(timezone.utc).strftime(SQLITE_TIME) if isinstance(params[name], datetime)
              else params[name] for name in names]
    with adbc.connect(f"file:{path}?mode=ro") as connection:
        cursor = connection.cursor()
        # one batch: column types are inferred from every row (NUMERIC columns mix integers and reals)
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 30)})
        cursor.execute(_PARAMETER.sub("?", sql), values or None)
        table = cursor.fetch_arrow_table()
        cursor.close()
    return table.to_pandas()


def _prepare(path: str, index: int | None, selection: extract.Selection, message_where: tuple[str, dict],
             key: bytes, version: int, loaded_at: pd.Timestamp):
    """In the reader process: one fact's rows, transformed (``index`` None = exchange messages)."""
    if index is None:
        where, params = message_where
        raw = _arrow_query(path, MESSAGE_SELECT.format(where=where), params)
        return MESSAGE_FACT, len(raw), transform_messages(raw, version=version, loaded_at=loaded_at)
    source = SOURCES[index]
    raw = extract.read_source(None, source, selection, query=lambda sql, params: _arrow_query(path, sql, params))
    frame = transform_facts(source, raw, pseudonymize=_pseudonymizer(key), version=version, loaded_at=loaded_at)
    return source.fact, len(raw), frame


_PSEUDONYMIZERS: dict[bytes, Pseudonymizer] = {}


def _pseudonymizer(key: bytes) -> Pseudonymizer:
    """One per key in the reader process, so its memo of pseudonyms serves every fact of the run."""
    return _PSEUDONYMIZERS.setdefault(key, Pseudonymizer(key))


def _context():
    """A fork server that has imported this module once: its workers are forked from a clean
    process that never opened the store (unlike a fork of the hub), and pay the imports once."""
    context = get_context("forkserver")
    context.set_forkserver_preload(["etl.arrow_reader"])
    return context


class ProcessReader:
    """Prepares the facts of a run in spawned processes (two: reading and transforming costs about
    twice what writing into chDB does, so two readers keep the writer and both cores busy)."""

    def __init__(self, path: str, selection: extract.Selection, message_where: tuple[str, dict], *, key: bytes,
                 version: int, loaded_at: pd.Timestamp, workers: int = 2):
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
        self._arguments = (path, selection, message_where, key, version, loaded_at)

    def submit(self, index: int | None) -> Future:
        path, selection, message_where, key, version, loaded_at = self._arguments
        return self._pool.submit(_prepare, path, index, selection, message_where, key, version, loaded_at)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["ProcessReader", "available"]
