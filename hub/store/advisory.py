"""Advisory transaction locks on named keys (PostgreSQL; nothing on SQLite, whose one writer at a time
already serializes every writer).

Several processors on one PostgreSQL each take the keys of their chunk's work (the MPI's blocking keys,
a document's key: ``hub.pipeline.Stage.lock_keys``) at the start of the chunk's transaction, all in
one statement, in one order (sorted by their 64-bit ids); PostgreSQL releases them at commit or
rollback. Two transactions that take keys only this way cannot deadlock on them: each waits only for
keys greater than every key it holds. A key is any string; its id is a 64-bit BLAKE2b digest, computed
here so that the order is known before the statement runs (a collision only makes two unrelated
chunks wait for each other, never lets two related ones through together).

A taker that must not wait for ever (a merge by hand, which PostgreSQL queues in front of every later
shared request) gives ``wait_s``: past it, ``LockBusy`` and the transaction is left aborted.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy.exc import DBAPIError

from .rawsql import RawSql

_TAKE = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(? AS bigint[])) AS k"
_TAKE_SHARED = "SELECT count(pg_advisory_xact_lock_shared(k)) FROM unnest(CAST(? AS bigint[])) AS k"
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires


class LockBusy(Exception):
    """A key was still held by another transaction after ``wait_s`` (the transaction is aborted)."""


def key_id(key: str) -> int:
    """The key's 64-bit lock id (signed, as PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def hold(sql: RawSql, keys: Iterable[str], *, shared: bool = False, wait_s: float | None = None) -> int:
    """Take ``keys`` for the rest of the transaction (exclusive unless ``shared``), in ascending id order,
    waiting for whoever holds one (at most ``wait_s``, else ``LockBusy``); how many distinct lock ids were
    taken (0 on SQLite)."""
    if sql.sqlite:
        return 0
    ids = sorted({key_id(key) for key in keys})
    if not ids:
        return 0
    if wait_s is None:  # unnest yields the array in order, and the aggregate takes each lock as its row comes
        sql.rows(_TAKE_SHARED if shared else _TAKE, (ids,))
        return len(ids)
    [(before,)] = sql.rows("SELECT current_setting('lock_timeout')")
    sql.rows("SELECT set_config('lock_timeout', ?, true)", (f"{max(1, round(wait_s * 1000))}ms",))
    try:
        sql.rows(_TAKE_SHARED if shared else _TAKE, (ids,))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise LockBusy(f"a key stayed held for {wait_s:g} s") from None
        raise
    sql.rows("SELECT set_config('lock_timeout', ?, true)", (before,))  # the rest of the transaction as it was
    return len(ids)


__all__ = ["key_id", "hold", "LockBusy"]
