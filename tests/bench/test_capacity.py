"""bench.pgcost (bench.capacity's meter) on the suite's PostgreSQL: what it counts is what was written."""
from __future__ import annotations

import psycopg

from bench.pgcost import PgMeter


def test_the_meter_counts_the_rows_commits_and_wal_of_a_phase(pg_server):
    pg_server.create_database("capacity_meter")
    try:
        with psycopg.connect(autocommit=True, **pg_server.connect_kwargs("capacity_meter")) as setup:
            setup.execute("CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)")
        meter = PgMeter(pg_server, "capacity_meter")
        start = meter.begin()
        with psycopg.connect(**pg_server.connect_kwargs("capacity_meter")) as writer:
            for _ in range(2):  # two transactions of 50 rows of 200 bytes
                with writer.transaction():
                    writer.cursor().executemany("INSERT INTO note (body) VALUES (%s)", [("x" * 200,)] * 50)
            with writer.transaction():
                writer.execute("UPDATE note SET body = 'y' WHERE id <= 10")
            mid = meter.writers_done()
        cost = meter.end(start, mid, documents=100)
    finally:
        pg_server.drop_database("capacity_meter")
    assert cost["tables"]["note"] | {"bytes_added": 0} == {"inserted": 100, "updated": 10, "deleted": 0,
                                                          "bytes_added": 0}
    assert cost["rows_written"] == 110 and cost["per_document"]["rows_written"] == 1.1
    assert cost["commits"] >= 3  # a read-only transaction writes no commit record; autovacuum may add its own
    assert cost["index_inserts"] >= 100  # the primary key's entries
    assert cost["wal_bytes"] > 100 * 200 and cost["tables"]["note"]["bytes_added"] > 0
    assert "Heap/INSERT" in cost["wal_records_by_type"] or "Heap/INSERT+INIT" in cost["wal_records_by_type"]
