"""The mart on 2 shards x 2 replicas (ReplicatedReplacingMergeTree through ZooKeeper, Distributed on
top) answers like one server, and keeps answering and loading with one replica down; the replica
catches up when it comes back."""
from __future__ import annotations

import threading
import time
from datetime import date

import pandas as pd
import pytest

from olap import apply_schema
from olap.dimensions import date_dimension, load_dimension
from olap.rollups import VISITS_INSTITUTION_DAY, refresh
from olap.schema.versions import VERSIONS
from olap.server_backend import ServerBackend
from tests.support.olap_fixtures import REPLICATED

from .samples import visits
from .test_distributed import CUBE, ROLLUP, _fill

pytestmark = [pytest.mark.clickhouse, pytest.mark.replicated, pytest.mark.slow]

FACT = "fact_outpatient_visit_local"
ROLLUP_LOCAL = "rollup_visits_institution_day_local"


def _local(server, database: str, sql: str) -> pd.DataFrame:
    """``sql`` on one server alone (its own replicas, no Distributed fan-out)."""
    backend = ServerBackend(server.host, server.tcp_port, database=database)
    try:
        return backend.query_df(sql)
    finally:
        backend.close()


def _rows(server, database: str, table: str) -> pd.DataFrame:
    columns = "fact_key, version, deleted" if table.startswith("fact") else "*"
    frame = _local(server, database, f"SELECT {columns} FROM {table}")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _caught_up(cluster, database: str, tables: tuple[str, ...], *, timeout: float = 30.0) -> None:
    """Every replica's local tables hold the same rows as its shard peer's, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        different = [(shard, table) for shard in (1, 2) for table in tables
                     if not _rows(cluster.replica(shard, 1), database, table).equals(
                         _rows(cluster.replica(shard, 2), database, table))]
        if not different:
            return
        assert time.monotonic() < deadline, f"replicas still differ after {timeout} s: {different}"
        time.sleep(0.2)


def test_schema_is_replicated_and_idempotent(replicated_olap, ch_replicated):
    assert replicated_olap.replicated
    assert apply_schema(replicated_olap) == [module.VERSION for module in VERSIONS]
    assert apply_schema(replicated_olap) == []
    for server in ch_replicated.servers:
        engines = _local(server, replicated_olap.database,
                         "SELECT name, engine FROM system.tables WHERE database = currentDatabase() "
                         "AND name IN ('fact_outpatient_visit', 'fact_outpatient_visit_local', 'dim_date', "
                         "'mart_schema_version')").set_index("name")["engine"].to_dict()
        assert engines == {"fact_outpatient_visit": "Distributed",
                           "fact_outpatient_visit_local": "ReplicatedReplacingMergeTree",
                           "dim_date": "ReplicatedReplacingMergeTree",
                           "mart_schema_version": "ReplicatedReplacingMergeTree"}, server


def test_replicas_answer_like_a_single_server(replicated_olap, server_olap, ch_replicated):
    _fill(replicated_olap)
    _fill(server_olap)
    for sql in (CUBE, ROLLUP):
        pd.testing.assert_frame_equal(replicated_olap.query_df(sql), server_olap.query_df(sql))
    _caught_up(ch_replicated, replicated_olap.database, (FACT, ROLLUP_LOCAL, "dim_date"))
    # Both shards hold part of the facts (each on both its replicas); the dimension, written once, is
    # on all four servers.
    shares = [int(_local(ch_replicated.replica(shard, 1), replicated_olap.database,
                         f"SELECT count() AS n FROM {FACT} FINAL")["n"].iloc[0]) for shard in (1, 2)]
    assert sum(shares) == 2000 and min(shares) > 0
    for server in ch_replicated.servers:
        assert _local(server, replicated_olap.database, "SELECT count() AS n FROM dim_date")["n"].iloc[0] == 366


def test_one_replica_down_loads_and_answers_go_on_and_it_catches_up(replicated_olap, server_olap, ch_replicated):
    """Shard 1's first replica — the server the backend is connected to and the replica every
    read and write prefers — stops between loads: the next loads and every query go to the
    other replicas and give the single server's answers; back, it catches up."""
    for backend in (replicated_olap, server_olap):
        apply_schema(backend)
        load_dimension(backend, "dim_date", date_dimension(date(2024, 1, 1), date(2024, 12, 31)), version=1)
        backend.insert_df("fact_outpatient_visit", visits(range(1, 1001)))
    database = replicated_olap.database
    _caught_up(ch_replicated, database, (FACT, "dim_date"))
    down = ch_replicated.replica(1, 1)
    down.kill()
    try:
        for backend in (replicated_olap, server_olap):  # corrections, retractions, new rows, a dimension
            backend.insert_df("fact_outpatient_visit", pd.concat([
                visits(range(1, 201), version=2, amount_fen=7000), visits(range(201, 301), version=2, deleted=1),
                visits(range(1001, 1501))]))
            load_dimension(backend, "dim_date", date_dimension(date(2025, 1, 1), date(2025, 1, 31)), version=2)
            refresh(backend, VISITS_INSTITUTION_DAY, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31),
                    version=5)
        for sql in (CUBE, ROLLUP, "SELECT count() AS days FROM dim_date FINAL WHERE deleted = 0"):
            pd.testing.assert_frame_equal(replicated_olap.query_df(sql), server_olap.query_df(sql))
        assert replicated_olap.query_df(ROLLUP)["visits"].sum() == 1400
        assert not down.running
    finally:
        down.start()
    _caught_up(ch_replicated, database, (FACT, ROLLUP_LOCAL, "dim_date"))
    assert _local(down, database, "SELECT count() AS n FROM dim_date FINAL")["n"].iloc[0] == 366 + 31


def test_a_replica_down_before_the_backend_opens(replicated_olap, ch_replicated):
    """A backend opened (its schema applied) while a replica is down works, and the replica that
    missed the schema gets its tables the next time a backend opens the mart."""
    down = ch_replicated.replica(2, 2)
    down.kill()
    try:
        backend = ServerBackend(down.host, down.tcp_port, database=replicated_olap.database, cluster=REPLICATED,
                                alt_hosts=f"{ch_replicated.servers[0].host}:{ch_replicated.servers[0].tcp_port}")
        try:
            assert apply_schema(backend) == [module.VERSION for module in VERSIONS]
            backend.insert_df("fact_outpatient_visit", visits(range(1, 101)))
            assert int(backend.query_df("SELECT count() AS n FROM fact_outpatient_visit FINAL")["n"].iloc[0]) == 100
        finally:
            backend.close()
    finally:
        down.start()
    ServerBackend(down.host, down.tcp_port, database=replicated_olap.database, cluster=REPLICATED).close()
    _caught_up(ch_replicated, replicated_olap.database, (FACT, "mart_schema_version"))


def test_an_insert_returns_when_both_replicas_of_its_shard_hold_it(replicated_olap, ch_replicated):
    """insert_quorum: the peer holds the rows at once, not some milliseconds later (a replica that
    died just after the insert cannot take them away from the reads of its peer)."""
    apply_schema(replicated_olap)
    for step in range(3):
        replicated_olap.insert_df("fact_outpatient_visit", visits(range(1000 * step + 1, 1000 * step + 1001)))
        counts = [int(_local(server, replicated_olap.database, f"SELECT count() AS n FROM {FACT}")["n"].iloc[0])
                  for server in ch_replicated.servers]
        assert counts[0] == counts[1] and counts[2] == counts[3] and sum(counts) == 2 * 1000 * (step + 1), counts


def test_an_equal_block_inserted_again_counts_as_on_one_server(replicated_olap, server_olap):
    """Replicated tables drop a block equal to a recent one (insert_deduplicate, on by default); the
    mart's inserts mean what they mean on one server: of equal versions, the last row inserted wins."""
    first, second = visits(range(1, 51), amount_fen=100), visits(range(1, 51), amount_fen=900)
    for backend in (replicated_olap, server_olap):
        apply_schema(backend)
        for batch in (first, second, first):
            backend.insert_df("fact_outpatient_visit", batch)
    sql = "SELECT sum(total_fen) AS total FROM fact_outpatient_visit FINAL"
    pd.testing.assert_frame_equal(replicated_olap.query_df(sql), server_olap.query_df(sql))


def test_a_query_cut_off_by_its_node_dying_is_answered_by_another(replicated_olap, server_olap, ch_replicated):
    """The node the backend is connected to is killed while it runs a query: the backend connects to
    the next live node and asks again; the answer is the single server's."""
    for backend in (replicated_olap, server_olap):
        apply_schema(backend)
        backend.insert_df("fact_outpatient_visit", visits(range(1, 1001)))
    # sleep(): 0.3 s per block read, so that the query is still running when its node dies
    sql = ("SELECT count() AS n, sum(total_fen) AS total FROM fact_outpatient_visit FINAL "
           "WHERE sleep(0.3) = 0 AND deleted = 0")
    down = ch_replicated.replica(1, 1)
    killer = threading.Timer(0.15, down.kill)
    killer.start()
    try:
        answer = replicated_olap.query_df(sql)
        killer.join()
        assert not down.running
        pd.testing.assert_frame_equal(answer, server_olap.query_df(sql))
    finally:
        killer.join()
        down.start()



STALE_CHECKS = ("SELECT count() AS n, sum(total_fen) AS total FROM fact_outpatient_visit FINAL WHERE deleted = 0",
                "SELECT count() AS days FROM dim_date FINAL WHERE deleted = 0", CUBE)


def test_a_replica_that_comes_back_is_not_read_before_it_has_caught_up(replicated_olap, server_olap,
                                                                       ch_replicated):
    """Shard 1's first replica (first choice of ``in_order``) dies; facts and a dimension are loaded
    without it; it comes back. Queries at once through a backend opened on that node and through one
    on another shard's node (whose Distributed table asks shard 1's replicas in order) give the
    single server's answers. The other nodes send no parts meanwhile (SYSTEM STOP REPLICATED SENDS),
    so the returned replica stays behind for as long as the test needs: a wide window, not a race."""
    database = replicated_olap.database
    for backend in (replicated_olap, server_olap):
        apply_schema(backend)
        load_dimension(backend, "dim_date", date_dimension(date(2024, 1, 1), date(2024, 12, 31)), version=1)
        backend.insert_df("fact_outpatient_visit", visits(range(1, 1001)))
    _caught_up(ch_replicated, database, (FACT, "dim_date"))
    back, other = ch_replicated.replica(1, 1), ch_replicated.replica(2, 1)
    senders = [server for server in ch_replicated.servers if server is not back]
    later = pd.concat([visits(range(1, 201), version=2, amount_fen=7000), visits(range(1001, 1501))])
    back.kill()
    readers = []
    try:
        for backend in (replicated_olap, server_olap):
            backend.insert_df("fact_outpatient_visit", later)
            load_dimension(backend, "dim_date", date_dimension(date(2025, 1, 1), date(2025, 1, 31)), version=2)
        for server in senders:
            for table in (FACT, "dim_date"):
                server.query(f"SYSTEM STOP REPLICATED SENDS {database}.{table}")
        back.start()
        readers = [ServerBackend(node.host, node.tcp_port, database=database, cluster=REPLICATED)
                   for node in (other, back)]
        for reader in readers:
            for sql in STALE_CHECKS:
                pd.testing.assert_frame_equal(reader.query_df(sql), server_olap.query_df(sql))
        behind = _local(back, database, f"SELECT count() AS n FROM {FACT}")["n"].iloc[0]
        assert behind < _local(ch_replicated.replica(1, 2), database, f"SELECT count() AS n FROM {FACT}")["n"].iloc[0]
    finally:
        for reader in readers:
            reader.close()
        for server in (*senders, back):  # 18.16 keeps refusing sends after START: restarted, they send
            server.halt()
            server.start()
    _caught_up(ch_replicated, database, (FACT, "dim_date"))
