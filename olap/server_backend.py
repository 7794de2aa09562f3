"""The production engine: a ClickHouse server (or a cluster of shards) over the native protocol.

On a cluster, every node gets the same database. Facts and rollups are stored in ``<name>_local``
on each shard with a ``Distributed`` table ``<name>`` over them, sharded by a hash of the row's
identity so that every version and retraction of a row lands on the same shard (ReplacingMergeTree
only collapses rows within one shard). Dimensions are small and copied whole to every node, so
joins run shard-locally. DDL is sent to each node by this backend: ``ON CLUSTER`` needs ZooKeeper,
which a plain 18.16 deployment does not have. Inserts into Distributed tables are synchronous
(``insert_distributed_sync = 1``): an ETL batch is on its shards when ``insert_df`` returns.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from .backend import Backend, Params
from .capabilities import parse_version
from .errors import BackendUnavailable, QueryError, engine_message
from .frames import column_for_insert, frame_from_columns
from .schema.ddl import create_distributed_sql, create_table_sql, local_name
from .sqlparams import bind, identifier

if TYPE_CHECKING:
    import pandas as pd

    from .schema.model import Table


# The driver logs every failed connection attempt with its traceback; the backend raises
# BackendUnavailable for it, which its caller reports (a command line in one line).
logging.getLogger("clickhouse_driver").addHandler(logging.NullHandler())


def _client(host: str, port: int, database: str, settings: dict[str, Any], timeout: float):
    from clickhouse_driver import Client

    return Client(host=host, port=port, database=database, settings=settings,
                  connect_timeout=timeout, send_receive_timeout=300)


class ServerBackend(Backend):
    """The mart in ``database`` on the server at ``host:port``; with ``cluster``, over all its shards."""

    def __init__(self, host: str, port: int, database: str = "mart", cluster: str | None = None, *,
                 connect_timeout: float = 10.0) -> None:
        try:
            import clickhouse_driver  # noqa: F401  (fail here, clearly, when the package is missing)
        except ImportError as exc:
            raise BackendUnavailable("olap.server.missing", "clickhouse-driver is not installed") from exc
        self.database = identifier(database)
        self.cluster = identifier(cluster) if cluster else None
        self._settings: dict[str, Any] = {"insert_distributed_sync": 1} if cluster else {}
        self._address = f"{host}:{port}"
        self._lock = threading.RLock()
        self._column_types: dict[str, dict[str, str]] = {}
        self._distributed: dict[str, bool] = {}
        with self._lock:
            bootstrap = _client(host, port, "default", {}, connect_timeout)
            nodes = self._cluster_nodes(bootstrap) if self.cluster else [(host, port)]
            for node_host, node_port in dict.fromkeys([(host, port), *nodes]):
                creator = bootstrap if (node_host, node_port) == (host, port) else \
                    _client(node_host, node_port, "default", {}, connect_timeout)
                self._guard(lambda: creator.execute(f"CREATE DATABASE IF NOT EXISTS {self.database}"))
                creator.disconnect()
            self._client = _client(host, port, self.database, self._settings, connect_timeout)
            self._nodes = [_client(node_host, node_port, self.database, {}, connect_timeout)
                           for node_host, node_port in nodes]

    # ---------------------------------------------------------------- helpers
    def _guard(self, call):
        """Run one driver call; driver and server errors become :class:`OlapError`s with a code."""
        from clickhouse_driver import errors

        try:
            return call()
        except errors.ServerException as exc:
            raise QueryError("olap.query.failed", engine_message(exc.message), engine_code=exc.code,
                             engine="server") from None
        except (errors.NetworkError, errors.SocketTimeoutError, OSError, EOFError) as exc:
            raise BackendUnavailable("olap.server.unreachable", engine_message(str(exc)),
                                     address=self._address) from None
        except errors.Error as exc:
            raise QueryError("olap.query.failed", engine_message(str(exc)), engine="server") from None

    def _cluster_nodes(self, client) -> list[tuple[str, int]]:
        rows = self._guard(lambda: client.execute(
            bind("SELECT host_address, port FROM system.clusters WHERE cluster = {c:String} "
                 "ORDER BY shard_num, replica_num", {"c": self.cluster})))
        if not rows:
            raise BackendUnavailable("olap.server.cluster_unknown",
                                     "cluster is not defined in the server's remote_servers", cluster=self.cluster)
        return [(str(host), int(port)) for host, port in rows]

    # ------------------------------------------------------------- interface
    def execute(self, sql: str, params: Params = None) -> None:
        statement = bind(sql, params)
        with self._lock:
            self._guard(lambda: self._client.execute(statement))

    def query_df(self, sql: str, params: Params = None, *, small: bool = False) -> "pd.DataFrame":
        statement = bind(sql, params)  # small: 18.16 has no max_final_threads; its small queries are cheap
        with self._lock:
            columns, types = self._guard(
                lambda: self._client.execute(statement, with_column_types=True, columnar=True))
        return frame_from_columns(columns, types)

    def insert_df(self, table: str, df: "pd.DataFrame") -> int:
        """Columnar insert; into the Distributed table for sharded data, into every node for the rest."""
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
            targets = [self._client] if not self.cluster or self._is_distributed(table) else self._nodes
            for target in targets:
                self._guard(lambda target=target: target.execute(statement, data, columnar=True))
        return len(df)

    def version(self) -> tuple[int, ...]:
        with self._lock:
            rows = self._guard(lambda: self._client.execute("SELECT version()"))
        return parse_version(str(rows[0][0]))

    def create_table(self, table: "Table") -> None:
        """One node: the table. Cluster: local tables (or copies, for dimensions) on each node + Distributed."""
        if not self.cluster:
            super().create_table(table)
            return
        capabilities = self.capabilities
        storage = local_name(table) if table.sharded else table.name
        with self._lock:
            for node in self._nodes:
                self._guard(lambda node=node: node.execute(create_table_sql(table, capabilities, name=storage)))
            if table.sharded:
                distributed = create_distributed_sql(table, cluster=self.cluster, database=self.database,
                                                     local_name=storage)
                for node in self._nodes:  # on every node: any of them can answer queries
                    self._guard(lambda node=node: node.execute(distributed))
            self._distributed.pop(table.name, None)
            self._column_types.pop(table.name, None)

    def drop_table(self, table: "Table") -> None:
        """One node: the table. Cluster: the Distributed table and the local tables on every node."""
        if not self.cluster:
            super().drop_table(table)
            return
        with self._lock:
            for node in self._nodes:
                names = (table.name, local_name(table)) if table.sharded else (table.name,)
                for name in names:
                    self._guard(lambda node=node, name=name: node.execute(f"DROP TABLE IF EXISTS {name}"))
            self._distributed.pop(table.name, None)
            self._column_types.pop(table.name, None)

    def drop_database(self) -> None:
        """Drop this backend's database on every node (tests; a rebuild from OLTP)."""
        with self._lock:
            for node in self._nodes:
                self._guard(lambda node=node: node.execute(f"DROP DATABASE IF EXISTS {self.database}"))
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
