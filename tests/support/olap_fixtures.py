"""OLAP fixtures, suite-wide (registered by tests/conftest.py): every backend test runs on chDB and
on a real ClickHouse server.

chdb_dir     session: the one chDB directory of this process (chDB opens a single path per process,
             so every test that opens chDB — olap, etl, the web app — must use this one)
ch_server    session: a throwaway clickhouse-server (tests/support/chserver.py)
ch_cluster   session: two throwaway servers as the two shards of cluster ``mart_cluster``
zookeeper    session: a throwaway ZooKeeper (tests/support/zkserver.py)
ch_replicated  session: four servers as 2 shards x 2 replicas of cluster ``mart_replicas`` on ``zookeeper``
olap         a backend on a fresh, empty database, once per engine: ``chdb`` and ``server``
             (marked ``clickhouse``, so ``-m "not clickhouse"`` runs chDB only)
chdb_olap / server_olap / cluster_olap / replicated_olap   one engine each, fresh database, for
             cross-engine checks (replicated_olap: every server of ``ch_replicated`` running again after)

A missing server binary skips the server tests, except under CI=true, where it fails them.
"""
from __future__ import annotations

import uuid

import pytest

from olap import BackendUnavailable, ChdbBackend, ServerBackend

from .chcluster import ClickhouseCluster
from .chserver import ClickhouseServer
from .missing import missing
from .servers import running
from .zkserver import ZookeeperServer

CLUSTER = "mart_cluster"
REPLICATED = "mart_replicas"


def _require_server_binary() -> None:
    if not ClickhouseServer.available():
        reason = "clickhouse-server not found (install it with scripts/install-system-packages.sh)"
        missing(reason)


def _fresh_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("chdb")
    # One connection held open for the whole session keeps chDB's engine loaded: a backend opened while
    # none is open loads it again (1–3 s here, more with every database in the directory); while one
    # is open, ≈ 1 ms. Many tests open a backend of their own (``chdb_olap``, the ETL's).
    try:
        warm = ChdbBackend(path, database="default")
    except BackendUnavailable:  # chdb not installed: the tests that need it say so themselves
        warm = None
    yield path
    if warm is not None:
        warm.close()


@pytest.fixture(scope="session")
def ch_server():
    _require_server_binary()
    yield from running(ClickhouseServer())


@pytest.fixture(scope="session")
def ch_cluster():
    _require_server_binary()
    yield from running(ClickhouseCluster(shards=2, name=CLUSTER))


@pytest.fixture(scope="session")
def zookeeper():
    _require_server_binary()
    if not ZookeeperServer.available():
        missing("ZooKeeper (java + /usr/share/java/zookeeper.jar) not found "
                "(install it with scripts/install-system-packages.sh)")
    yield from running(ZookeeperServer())


@pytest.fixture(scope="session")
def ch_replicated(zookeeper):
    yield from running(ClickhouseCluster(shards=2, replicas=2, name=REPLICATED, zookeeper=zookeeper))


@pytest.fixture
def replicated_olap(ch_replicated):
    first = ch_replicated.servers[0]
    # quorum_timeout: a replica a test has just killed costs one such wait (ZooKeeper counts it alive)
    backend = ServerBackend(first.host, first.tcp_port, database=_fresh_name(), cluster=REPLICATED, quorum_timeout=3)
    try:
        yield backend
    finally:
        for server in ch_replicated.servers:  # a test that stopped a replica leaves the cluster whole
            server.start()
        backend.drop_database()
        backend.close()


@pytest.fixture
def chdb_olap(chdb_dir):
    backend = ChdbBackend(chdb_dir, database=_fresh_name())
    try:
        yield backend
    finally:
        backend.drop_database()
        backend.close()


@pytest.fixture
def server_olap(ch_server):
    backend = ServerBackend(ch_server.host, ch_server.tcp_port, database=_fresh_name())
    try:
        yield backend
    finally:
        backend.drop_database()
        backend.close()


@pytest.fixture
def cluster_olap(ch_cluster):
    first = ch_cluster.servers[0]
    backend = ServerBackend(first.host, first.tcp_port, database=_fresh_name(), cluster=CLUSTER)
    try:
        yield backend
    finally:
        backend.drop_database()
        backend.close()


@pytest.fixture(params=[pytest.param("chdb", id="chdb"),
                        pytest.param("server", id="server", marks=pytest.mark.clickhouse)])
def olap(request):
    """An empty mart database on each engine."""
    return request.getfixturevalue("chdb_olap" if request.param == "chdb" else "server_olap")
