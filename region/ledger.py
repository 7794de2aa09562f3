"""The loader's ledger: which member-months of which region reached the hub, kept in the hub's data dir.

``DATA/region-load.sqlite`` holds the region it belongs to (seed, size, generator version: loading
another region into the same hub is refused, ``region.load.other``), one row per member-month
sent (documents, seconds) and one row per document the hub refused at the door (its code). A
member-month is marked only after every batch of it has a receipt, so a loader stopped anywhere
resends at most that month — with the same MessageIDs, and the hub answers a resent MessageID with
its original receipt, so nothing is stored twice. Each writer process opens its own connection;
SQLite serialises the few writes (one per member-month).
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from .errors import RegionError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS region (seed INTEGER NOT NULL, size TEXT NOT NULL, generator_version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sent (member TEXT NOT NULL, month TEXT NOT NULL, documents INTEGER NOT NULL,
                                 refused INTEGER NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (member, month));
CREATE TABLE IF NOT EXISTS refused (record_id TEXT NOT NULL, version INTEGER NOT NULL, member TEXT NOT NULL,
                                    code TEXT NOT NULL, PRIMARY KEY (record_id, version));
"""


class Ledger:
    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def claim(self, *, seed: int, size: str, generator_version: str) -> bool:
        """Tie the ledger to this region (a new ledger) or check it is this region's; True if new."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection:
            connection.executescript(_SCHEMA)
            row = connection.execute("SELECT seed, size, generator_version FROM region").fetchone()
            if row is None:
                connection.execute("INSERT INTO region VALUES (?, ?, ?)", (seed, size, generator_version))
                return True
        if tuple(row) != (seed, size, generator_version):
            raise RegionError("region.load.other", "this data directory holds another region's load: use a new "
                              "data directory", loaded=f"seed {row[0]} {row[1]} v{row[2]}")
        return False

    def done(self) -> dict[tuple[str, str], int]:
        """(member, month) → documents, for every member-month already sent."""
        with closing(self._connect()) as connection:
            return {(m, month): n for m, month, n in connection.execute("SELECT member, month, documents FROM sent")}

    def mark(self, *, member: str, month: str, documents: int, refused: list[tuple[str, int, str]],
             seconds: float) -> None:
        """Record a member-month as sent, with the documents the hub refused (record id, version, code)."""
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?)",
                                   [(record, version, member, code) for record, version, code in refused])
            connection.execute("INSERT OR REPLACE INTO sent VALUES (?, ?, ?, ?, ?)",
                               (member, month, documents, len(refused), seconds))
            connection.execute("COMMIT")

    def refused(self) -> dict[tuple[str, int], str]:
        """(record id, version) → the code of every document the hub refused at the door."""
        with closing(self._connect()) as connection:
            return {(r, v): code for r, v, code in connection.execute("SELECT record_id, version, code FROM refused")}

    def totals(self) -> tuple[int, int, float]:
        """Documents sent, refused, and the seconds the senders spent, over every member-month."""
        with closing(self._connect()) as connection:
            row = connection.execute("SELECT COALESCE(SUM(documents), 0), COALESCE(SUM(refused), 0), "
                                     "COALESCE(SUM(seconds), 0) FROM sent").fetchone()
        return int(row[0]), int(row[1]), float(row[2])


__all__ = ["Ledger"]
