"""What one phase of work costs a PostgreSQL server: WAL, commits, rows written, disk, its CPU.

    meter = PgMeter(server, "hub")
    start = meter.begin()          # CHECKPOINT, then the WAL position, the table counters, the CPU
    ... the writers work ...
    mid = meter.writers_done()     # WAL position and CPU while the writers' backends still live
    ... stop the writers (their backends flush their row counters when they exit) ...
    cost = meter.end(start, mid, documents=n)

- **WAL** from the server's own positions (``pg_current_wal_lsn``), and its records by type from
  ``pg_waldump --stats=record`` over exactly that range: commits are ``Transaction/COMMIT`` records
  (a read-only transaction writes none), full-page images counted apart. Each phase begins with a
  ``CHECKPOINT``, so every page a phase touches first costs one full-page image, as after each
  checkpoint in production (``checkpoint_timeout``, 5 min by default).
- **Rows** from ``pg_stat_user_tables`` (inserted, updated, deleted; per table), read after the
  writers' backends have exited, which is when PostgreSQL 15 flushes their counters.
- **Disk**: ``pg_database_size`` and each table's ``pg_total_relation_size`` (heap, TOAST, indexes).
- **CPU**: user + system seconds of the postmaster and every process under it (the backends of the
  writers, the WAL writer, the checkpointer), from ``/proc``.
"""
from __future__ import annotations

import re
import subprocess
import time

from .exchange import _children, proc_cpu_seconds

_STAT_LINE = re.compile(r"^(\S+)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)")
_TABLES = ("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, pg_total_relation_size(relid) "
           "FROM pg_stat_user_tables")


class PgMeter:
    """Measures one database of a ``tests.support.pgserver.PostgresServer`` (running as root or not)."""

    def __init__(self, server, database: str):
        self.server, self.database = server, database

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(autocommit=True, **self.server.connect_kwargs(self.database)) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def lsn(self) -> str:
        return self.query("SELECT pg_current_wal_lsn()::text")[0][0]

    def cpu(self) -> float:
        """CPU seconds of the server's processes alive now."""
        postmaster = int((self.server.data_dir / "postmaster.pid").read_text().split()[0])
        return sum(proc_cpu_seconds(pid) for pid in (postmaster, *_children(postmaster)))

    def tables(self) -> dict[str, tuple[int, int, int, int]]:
        return {name: (ins, upd, dele, size) for name, ins, upd, dele, size in self.query(_TABLES)}

    def begin(self) -> dict:
        self.query("CHECKPOINT")
        return {"lsn": self.lsn(), "cpu": self.cpu(), "tables": self.tables(), "t": time.perf_counter(),
                "db_bytes": self.query("SELECT pg_database_size(current_database())")[0][0]}

    def writers_done(self) -> dict:
        return {"lsn": self.lsn(), "cpu": self.cpu(), "t": time.perf_counter()}

    def end(self, start: dict, mid: dict, *, documents: int) -> dict:
        """The phase's cost in total and per document."""
        time.sleep(0.5)  # the writers' backends finish exiting (and flushing their counters)
        wal_bytes = int(self.query(f"SELECT pg_wal_lsn_diff('{mid['lsn']}', '{start['lsn']}')")[0][0])
        records = wal_records(self.server, start["lsn"], mid["lsn"])
        after = self.tables()
        per_table = {}
        for name, (ins, upd, dele, size) in after.items():
            b_ins, b_upd, b_del, b_size = start["tables"].get(name, (0, 0, 0, 0))
            written = (ins - b_ins) + (upd - b_upd) + (dele - b_del)
            if written or size != b_size:
                per_table[name] = {"inserted": ins - b_ins, "updated": upd - b_upd, "deleted": dele - b_del,
                                   "bytes_added": size - b_size}
        rows = sum(t["inserted"] + t["updated"] + t["deleted"] for t in per_table.values())
        db_bytes = self.query("SELECT pg_database_size(current_database())")[0][0] - start["db_bytes"]
        cpu, seconds = mid["cpu"] - start["cpu"], mid["t"] - start["t"]
        per = max(documents, 1)
        return {"documents": documents, "seconds": round(seconds, 2),
                "wal_bytes": wal_bytes, "wal_fpi_bytes": records["fpi_bytes"], "commits": records["commits"],
                "rows_written": rows, "index_inserts": records["index_inserts"], "db_bytes_added": db_bytes,
                "postgres_cpu_s": round(cpu, 2),
                "per_document": {"wal_bytes": round(wal_bytes / per), "wal_fpi_bytes": round(records["fpi_bytes"] / per),
                                 "commits": round(records["commits"] / per, 4), "rows_written": round(rows / per, 2),
                                 "index_inserts": round(records["index_inserts"] / per, 2),
                                 "db_bytes": round(db_bytes / per), "postgres_cpu_us": round(cpu / per * 1e6)},
                "tables": dict(sorted(per_table.items(), key=lambda kv: -kv[1]["bytes_added"])),
                "wal_records_by_type": records["by_type"]}


def wal_records(server, start: str, end: str) -> dict:
    """``pg_waldump --stats=record`` between two WAL positions: counts and sizes per record type."""
    if start == end:
        return {"commits": 0, "index_inserts": 0, "fpi_bytes": 0, "by_type": {}}
    argv = [str(server.bindir / "pg_waldump"), "--stats=record", "-p", str(server.data_dir / "pg_wal"),
            "-s", start, "-e", end]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True).stdout
    by_type = {}
    for line in out.splitlines():
        match = _STAT_LINE.match(line)
        if match and "/" in match.group(1):
            name, n, size, fpi, combined = match.groups()
            by_type[name] = {"records": int(n), "record_bytes": int(size), "fpi_bytes": int(fpi),
                             "bytes": int(combined)}
    commits = sum(v["records"] for k, v in by_type.items() if k.startswith("Transaction/COMMIT"))
    index = sum(v["records"] for k, v in by_type.items() if k.startswith("Btree/INSERT"))
    return {"commits": commits, "index_inserts": index, "fpi_bytes": sum(v["fpi_bytes"] for v in by_type.values()),
            "by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1]["bytes"])[:15])}


__all__ = ["PgMeter", "wal_records"]
