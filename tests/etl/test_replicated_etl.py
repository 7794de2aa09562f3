"""The ETL writes through the replicated mart (2 shards x 2 replicas, ZooKeeper, Distributed on top)
and the cubes read through it: the same answers as one node, also with a replica killed in the
middle of a run; the replica catches up when it comes back and reconcile agrees with the OLTP."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from etl.reconcile import reconcile
from hub.store.db import make_engine, migrate, session_factory
from olap.schema.migrate import apply_schema
from olap.server_backend import ServerBackend
from tests.cubes.checks import ask, fill_mart
from tests.cubes.conftest import region  # noqa: F401  (fixture: the cube tests' filled region)
from tests.cubes.test_cluster import QUERIES
from tests.etl.conftest import Etl
from tests.support.inbox import Store

from .test_incremental import _visit

pytestmark = [pytest.mark.clickhouse, pytest.mark.replicated, pytest.mark.slow]

ANSWER = ("SELECT date, count() AS visits, sum(total_fen) AS fen FROM (SELECT * FROM fact_outpatient_visit FINAL) "
          "WHERE deleted = 0 GROUP BY date ORDER BY date")
ROLLUP = ("SELECT date, institution_code, sum(visits) AS visits, sum(total_fen) AS fen FROM "
          "(SELECT * FROM rollup_visits_institution_month FINAL) WHERE deleted = 0 GROUP BY date, institution_code "
          "ORDER BY date, institution_code")
LOCAL_TABLES = ("fact_outpatient_visit_local", "rollup_visits_institution_month_local", "fact_exchange_message_local",
                "dim_person")


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")  # one OLTP backend: the mart is under test
    migrate(engine)
    yield Store(session_factory(engine))
    engine.dispose()


def _local_rows(server, database: str, table: str) -> pd.DataFrame:
    backend = ServerBackend(server.host, server.tcp_port, database=database)
    try:
        frame = backend.query_df(f"SELECT * FROM {table}")
    finally:
        backend.close()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _caught_up(cluster, database: str, *, timeout: float = 30.0) -> None:
    """Each replica's local tables equal its shard peer's within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        different = [(shard, table) for shard in (1, 2) for table in LOCAL_TABLES
                     if not _local_rows(cluster.replica(shard, 1), database, table).equals(
                         _local_rows(cluster.replica(shard, 2), database, table))]
        if not different:
            return
        assert time.monotonic() < deadline, f"replicas still differ after {timeout} s: {different}"
        time.sleep(0.2)


def _same_answers(marts: dict[str, Etl]) -> None:
    for sql in (ANSWER, ROLLUP):
        answers = {name: etl.mart.query_df(sql).to_dict("list") for name, etl in marts.items()}
        assert answers["replicated"] == answers["single"], sql


def test_a_replica_killed_during_the_etl(store, replicated_olap, chdb_olap, ch_replicated):
    """Shard 1's first replica (the node the backend is connected to, the replica reads and writes
    prefer) is killed right after the run's first insert: the run finishes on the other nodes, the
    next run (corrections, new visits) too; the answers and rollups are the single node's and
    reconcile finds no difference; back, the replica catches up."""
    marts = {"replicated": Etl(store, replicated_olap), "single": Etl(store, chdb_olap)}
    for etl in marts.values():
        apply_schema(etl.mart)
    store.deliver(*[_visit(f"V-{n}", when=f"2026-11-{1 + n % 20:02d}T09:00:00+08:00") for n in range(40)])
    store.process()
    victim = ch_replicated.replica(1, 1)
    insert = replicated_olap.insert_df

    def insert_then_kill(table, frame):
        written = insert(table, frame)
        if victim.running:
            victim.kill()
        return written

    replicated_olap.insert_df = insert_then_kill
    try:
        for etl in marts.values():
            etl.run()
        assert not victim.running
        store.deliver(*[_visit(f"V-{n}", version=2, when="2026-11-25T09:00:00+08:00") for n in range(5)],
                      *[_visit(f"W-{n}") for n in range(5)])
        store.process()
        for etl in marts.values():
            etl.run()
        _same_answers(marts)
        assert int(replicated_olap.query_df(ANSWER)["visits"].sum()) == 45
        assert (reconcile(store.sessions, replicated_olap)["difference"] == 0).all()
    finally:
        replicated_olap.insert_df = insert
        victim.start()
    _caught_up(ch_replicated, replicated_olap.database)
    assert (reconcile(store.sessions, replicated_olap)["difference"] == 0).all()


def test_the_cubes_read_through_the_replicas_like_one_node(replicated_olap, chdb_olap, region):  # noqa: F811
    fill_mart(replicated_olap, region)
    fill_mart(chdb_olap, region)
    for cube, body in QUERIES:
        replicated, single = ask(replicated_olap, cube, body), ask(chdb_olap, cube, body)
        assert replicated["cells"] == single["cells"] and len(single["cells"]) > 1, (cube, body)
        assert replicated["sources"] == single["sources"]


def test_the_mart_url_opens_the_replicas_through_another_host(replicated_olap, ch_replicated):
    """``HIE_MART_URL``: the first host down, ``alt_hosts`` reaches the cluster; replicas are found in
    system.clusters (``replicated=`` may say so too, and must be true or false)."""
    from etl.errors import MartLocationError
    from etl.mart import open_mart

    peer = ch_replicated.replica(2, 1)
    url = (f"clickhouse://127.0.0.1:1/{replicated_olap.database}?cluster={replicated_olap.cluster}"
           f"&alt_hosts={peer.host}:{peer.tcp_port}")
    mart = open_mart(url)
    try:
        assert mart.replicated
        assert int(mart.query_df("SELECT count() AS n FROM mart_schema_version FINAL")["n"].iloc[0]) > 0
    finally:
        mart.close()
    with pytest.raises(MartLocationError):
        open_mart(url + "&replicated=yes")
