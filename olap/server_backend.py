"""The production engine: a ClickHouse server (or a cluster of shards) over the native protocol.

On a cluster, every node gets the same database. Facts and rollups are stored in ``<name>_local``
on each shard with a ``Distributed`` table ``<name>`` over them, sharded by a hash of the row's
identity so that every version and retraction of a row lands on the same shard (ReplacingMergeTree
only collapses rows within one shard). Dimensions are small and copied whole to every node, so
joins run shard-locally. DDL is sent to each node by this backend (``ON CLUSTER`` would need
ZooKeeper on every deployment, and a node down would hold it up). Inserts into Distributed tables
are synchronous (``insert_distributed_sync = 1``): an ETL batch is on its shards when ``insert_df``
returns.

A cluster whose shards have several replicas (``replica_num > 1`` in ``system.clusters``, or
``replicated=True``) is *replicated*: every table is ``ReplicatedReplacingMergeTree`` through the
servers' ZooKeeper (facts and rollups one path per shard, dimensions one path for all nodes). There
DDL goes to every live node, the session moves to the next live node (``alt_hosts``) and resends a
statement cut off by a dying node (every statement of the mart is idempotent), inserts wait for a
quorum of two replicas, and no read is served by a replica that is behind: see
:mod:`olap.replication`.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .backend import Backend, Params
from .capabilities import parse_version
from .errors import BackendUnavailable, QueryError, engine_message
from .frames import column_for_insert, frame_from_columns
from .replication import (DOWN_FOR, FRESH_FOR, UNAVAILABLE, complete_tables, fresh_node, is_behind,
                          run_replicated, session_alt_hosts, session_settings)
from .schema.ddl import create_distributed_sql, create_table_sql, local_name, replica_path
from .sqlparams import bind, identifier

if TYPE_CHECKING:
    import pandas as pd

    from .schema.model import Table


# The driver logs every failed connection attempt with its traceback; the backend raises
# BackendUnavailable for it, which its caller reports (a command line in one line).
logging.getLogger("clickhouse_driver").addHandler(logging.NullHandler())
log = logging.getLogger(__name__)


def _client(host: str, port: int, database: str, settings: dict[str, Any], timeout: float, *,
            alt_hosts: str | None = None):
    from clickhouse_driver import Client

    return Client(host=host, port=port, database=database, settings=settings, alt_hosts=alt_hosts,
                  connect_timeout=timeout, send_receive_timeout=300)


class ServerBackend(Backend):
    """The mart in ``database`` on the server at ``host:port``; with ``cluster``, over all its shards.

    ``replicated``: whether the cluster's tables are replicated (None: the cluster has a shard with
    more than one replica). ``alt_hosts`` (``"host:port,…"``): where to connect when ``host`` is down.
    ``quorum_timeout``: seconds an insert waits for its second replica (a replica that has just died
    and that ZooKeeper still counts as alive costs one such wait).
    """

    def __init__(self, host: str, port: int, database: str = "mart", cluster: str | None = None, *,
                 replicated: bool | None = None, alt_hosts: str | None = None,
                 quorum_timeout: float = 10.0, connect_timeout: float = 10.0) -> None:
        try:
            import clickhouse_driver  # noqa: F401  (fail here, clearly, when the package is missing)
        except ImportError as exc:
            raise BackendUnavailable("olap.server.missing", "clickhouse-driver is not installed") from exc
        self.database = identifier(database)
        self.cluster = identifier(cluster) if cluster else None
        self._address = f"{host}:{port}"
        self._lock = threading.RLock()
        self._column_types: dict[str, dict[str, str]] = {}
        self._distributed: dict[str, bool] = {}
        self._down: dict[int, float] = {}  # id(node client) -> until when it is passed over
        self._fresh_until = 0.0  # until when the session's node counts as up to date without asking
        self._connect_timeout, self._alt_hosts = connect_timeout, alt_hosts
        with self._lock:
            bootstrap = _client(host, port, "default", {}, connect_timeout, alt_hosts=alt_hosts)
            layout = self._cluster_nodes(bootstrap) if self.cluster else [(host, port, 1, 1)]
            self.replicated = bool(self.cluster) and (
                replicated if replicated is not None else max(replica for *_, replica in layout) > 1)
            nodes = [(node_host, node_port) for node_host, node_port, _, _ in layout]
            self._shards = [shard for _, _, shard, _ in layout]
            self._settings = session_settings(layout, cluster=bool(cluster), replicated=self.replicated,
                                      quorum_timeout=quorum_timeout)
            bootstrap.disconnect()
            creators = [_client(node_host, node_port, "default", {}, connect_timeout)
                        for node_host, node_port in dict.fromkeys([(host, port), *nodes])]
            try:
                self._each_node(f"CREATE DATABASE IF NOT EXISTS {self.database}", creators)
            finally:
                for creator in creators:
                    creator.disconnect()
            self._nodes = [_client(node_host, node_port, self.database, {}, connect_timeout)
                           for node_host, node_port in nodes]
            if self.replicated:  # the session moves to the next live node when its node dies
                alt_hosts = session_alt_hosts(f"{host}:{port}", alt_hosts, nodes)
            self._client = _client(host, port, self.database, self._settings, connect_timeout, alt_hosts=alt_hosts)
            if self.replicated:
                complete_tables(self._nodes, self._shards, database=self.database, guard=self._guard)

    # ---------------------------------------------------------------- helpers
    def _guard(self, call):
        """Run one driver call; driver and server errors become :class:`OlapError`s with a code."""
        from clickhouse_driver import errors

        try:
            return call()
        except errors.ServerException as exc:
            if exc.code in UNAVAILABLE:  # the cluster, not the statement: retry later
                raise BackendUnavailable("olap.cluster.unavailable", UNAVAILABLE[exc.code], engine_code=exc.code,
                                         address=self._address) from None
            raise QueryError("olap.query.failed", engine_message(exc.message), engine_code=exc.code,
                             engine="server") from None
        except (errors.NetworkError, errors.SocketTimeoutError, OSError, EOFError) as exc:
            raise BackendUnavailable("olap.server.unreachable", engine_message(str(exc)),
                                     address=self._address) from None
        except errors.Error as exc:
            raise QueryError("olap.query.failed", engine_message(str(exc)), engine="server") from None

    def _run(self, call):
        """One statement on the session's connection: ``call(settings)``. On a replicated cluster a
        connection lost half-way is opened again (on the next live node) and the statement sent once
        more, and an insert whose quorum a down replica denies is sent again without it."""
        if not self.replicated:
            return self._guard(lambda: call(None))
        self._read_fresh()
        return run_replicated(call, guard=self._guard, reconnect=self._reconnect,
                              quorum="insert_quorum" in self._settings)

    def _reconnect(self) -> None:
        self._client.disconnect()  # the next statement opens the next live node of ``alt_hosts``
        self._fresh_until = 0.0

    def _read_fresh(self) -> None:
        """Move the session off its node when that node holds a replica that is behind (it came back
        and has not fetched what it missed, or it lost ZooKeeper): dimensions and the local replica of
        its shard would be read stale. Asked at most every ``FRESH_FOR`` seconds."""
        if self._fresh_until > time.monotonic():
            return
        try:
            behind = is_behind(self._client, database=self.database, guard=self._guard)
        except BackendUnavailable:  # no node answers the session: the statement reports it
            return
        if behind:
            index = fresh_node(self._nodes, database=self.database, guard=self._guard, down=self._down)
            if index is None:
                log.warning("olap.server.replicas_behind: no node is up to date; reads may lag")
            else:
                host, port = self._nodes[index].connection.hosts[0]
                self._client.disconnect()
                alt_hosts = session_alt_hosts(f"{host}:{port}", self._alt_hosts,
                                              [node.connection.hosts[0] for node in self._nodes])
                self._client = _client(host, port, self.database, self._settings, self._connect_timeout,
                                       alt_hosts=alt_hosts)
                self._address = f"{host}:{port}"
                log.warning("olap.server.replica_behind: the session moves to node %d", index + 1)
        self._fresh_until = time.monotonic() + FRESH_FOR

    def _each_node(self, statement: str, clients=None) -> None:
        """``statement`` on every node, the nodes at once (a replicated CREATE waits on ZooKeeper:
        30-90 ms each here). On a replicated cluster a node that is down is passed over, and for
        ``DOWN_FOR`` seconds not asked again (a host that is off costs a connect timeout each
        time); it gets what it missed from ``complete_tables`` when a backend next opens the mart."""
        clients = self._nodes if clients is None else clients

        def run(node) -> bool:
            if self._down.get(id(node), 0.0) > time.monotonic():
                return False
            try:
                self._guard(lambda: node.execute(statement))
                return True
            except BackendUnavailable:
                node.disconnect()
                if not self.replicated:
                    raise
                self._down[id(node)] = time.monotonic() + DOWN_FOR
                log.warning("olap.server.node_down: %s:%s passed over", *node.connection.hosts[0])
                return False

        if len(clients) == 1:
            reached = [run(clients[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(clients)) as pool:
                reached = list(pool.map(run, clients))
        if not any(reached):
            raise BackendUnavailable("olap.server.unreachable", "no node of the cluster answers", cluster=self.cluster)

    def _cluster_nodes(self, client) -> list[tuple[str, int, int, int]]:
        """(host, port, shard_num, replica_num) of every node of the cluster."""
        rows = self._guard(lambda: client.execute(
            bind("SELECT host_address, port, shard_num, replica_num FROM system.clusters WHERE cluster = {c:String} "
                 "ORDER BY shard_num, replica_num", {"c": self.cluster})))
        if not rows:
            raise BackendUnavailable("olap.server.cluster_unknown",
                                     "cluster is not defined in the server's remote_servers", cluster=self.cluster)
        return [(str(host), int(port), int(shard), int(replica)) for host, port, shard, replica in rows]

    # ------------------------------------------------------------- interface
    def execute(self, sql: str, params: Params = None) -> None:
        statement = bind(sql, params)
        with self._lock:
            self._run(lambda settings: self._client.execute(statement, settings=settings))

    def query_df(self, sql: str, params: Params = None, *, small: bool = False) -> "pd.DataFrame":
        statement = bind(sql, params)  # small: 18.16 has no max_final_threads; its small queries are cheap
        with self._lock:
            columns, types = self._run(lambda settings: self._client.execute(
                statement, with_column_types=True, columnar=True, settings=settings))
        return frame_from_columns(columns, types)

    def insert_df(self, table: str, df: "pd.DataFrame") -> int:
        """Columnar insert; into the Distributed table for sharded data, into every node for the rest
        (replicated: once, through any node; ZooKeeper copies it to the others)."""
        table = identifier(table)
        if df.empty:
            return 0
        types = self._types_of(table)
        unknown = [str(name) for name in df.columns if name not in types]
        if unknown:
            raise QueryError("olap.insert.columns", "DataFrame has columns the table does not have", table=table,
                             columns=unknown)
        names = [str(name) for name in df.columns]
        data = [column_for_insert(df[name], types[name]) for name in names]
        statement = f"INSERT INTO {table} ({', '.join(identifier(name) for name in names)}) VALUES"
        with self._lock:
            if not self.cluster or self.replicated or self._is_distributed(table):
                self._run(lambda settings: self._client.execute(statement, data, columnar=True, settings=settings))
            else:
                for node in self._nodes:
                    self._guard(lambda node=node: node.execute(statement, data, columnar=True))
        return len(df)

    def version(self) -> tuple[int, ...]:
        with self._lock:
            rows = self._run(lambda settings: self._client.execute("SELECT version()", settings=settings))
        return parse_version(str(rows[0][0]))

    def create_table(self, table: "Table") -> None:
        """One node: the table. Cluster: local tables (or copies, for dimensions) on each node + Distributed;
        replicated: the same, as replicas (see :func:`olap.schema.ddl.replica_path`)."""
        if not self.cluster:
            super().create_table(table)
            return
        capabilities = self.capabilities
        storage = local_name(table) if table.sharded else table.name
        path = replica_path(table, database=self.database, name=storage) if self.replicated else None
        with self._lock:
            self._each_node(create_table_sql(table, capabilities, name=storage, replica_path=path))
            if table.sharded:  # on every node: any of them can answer queries
                self._each_node(create_distributed_sql(table, cluster=self.cluster, database=self.database,
                                                       local_name=storage))
            self._distributed.pop(table.name, None)
            self._column_types.pop(table.name, None)

    def drop_table(self, table: "Table") -> None:
        """One node: the table. Cluster: the Distributed table and the local tables on every node."""
        if not self.cluster:
            super().drop_table(table)
            return
        with self._lock:
            for name in (table.name, local_name(table)) if table.sharded else (table.name,):
                self._each_node(f"DROP TABLE IF EXISTS {name}")
            self._distributed.pop(table.name, None)
            self._column_types.pop(table.name, None)

    def drop_database(self) -> None:
        """Drop this backend's database on every node (tests; a rebuild from OLTP)."""
        with self._lock:
            self._each_node(f"DROP DATABASE IF EXISTS {self.database}")
            self._column_types.clear()
            self._distributed.clear()

    def close(self) -> None:
        with self._lock:
            for client in (self._client, *self._nodes):
                client.disconnect()

    # -------------------------------------------------------------- internals
    def _types_of(self, table: str) -> dict[str, str]:
        if table not in self._column_types:
            frame = self.query_df("SELECT name, type FROM system.columns WHERE database = {db:String} "
                                  "AND table = {t:String}", {"db": self.database, "t": table})
            if frame.empty:
                raise QueryError("olap.insert.table", "no such table", table=table)
            self._column_types[table] = dict(zip(frame["name"], frame["type"]))
        return self._column_types[table]

    def _is_distributed(self, table: str) -> bool:
        if table not in self._distributed:
            frame = self.query_df("SELECT engine FROM system.tables WHERE database = {db:String} "
                                  "AND name = {t:String}", {"db": self.database, "t": table})
            self._distributed[table] = bool(len(frame)) and frame["engine"].iloc[0] == "Distributed"
        return self._distributed[table]


__all__ = ["ServerBackend"]
