"""CREATE statements for mart tables, in the SQL both ClickHouse 18.16 and current releases accept.

Checked on 18.16.1: ``ENGINE = ReplacingMergeTree(version) PARTITION BY … ORDER BY (…)`` (the
"new-style" MergeTree syntax) and ``Distributed(cluster, database, table, sharding_key)`` work;
``LowCardinality`` needs an experimental flag there, so it is rendered as the plain inner type.
On a replicated cluster the same engine is ``ReplicatedReplacingMergeTree(zookeeper_path,
'{replica}', version)`` (same syntax on 18.16, which needs ZooKeeper for it: no ClickHouse Keeper).
"""
from __future__ import annotations

import re

from ..capabilities import Capabilities
from ..sqlparams import identifier, quote_string
from .model import Table

_LOW_CARDINALITY = re.compile(r"LowCardinality\(((?:[^()]|\([^()]*\))*)\)")


def column_type(type_sql: str, capabilities: Capabilities) -> str:
    """The column type this engine accepts: ``LowCardinality(T)`` becomes ``T`` where unsupported."""
    if capabilities.supports_lowcardinality:
        return type_sql
    return _LOW_CARDINALITY.sub(lambda match: match.group(1), type_sql)


def replica_path(table: Table, *, database: str, name: str | None = None) -> str:
    """ZooKeeper path of a replicated table: one per shard for facts and rollups (``{shard}`` is the
    server's macro), one for the whole cluster for dimensions and bookkeeping (every node a replica)."""
    shard = "{shard}" if table.sharded else "all"
    return f"/clickhouse/tables/{shard}/{database}/{name or table.name}"


def create_table_sql(table: Table, capabilities: Capabilities, *, name: str | None = None,
                     replica_path: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``table`` (under ``name`` if given, e.g. a shard's local table);
    with ``replica_path``, replicated through ZooKeeper there (``{replica}``: the server's macro).

    A replicated table has no column comments: 18.16 writes them to ZooKeeper in a form it then
    fails to compare with its own ("Table structure in ZooKeeper is too different from local table
    structure", on the first replica already); the declarations in ``olap.schema`` keep them."""
    columns = ",\n    ".join(
        f"{identifier(column.name)} {column_type(column.type, capabilities)}"
        + (f" COMMENT {quote_string(column.comment)}" if column.comment and replica_path is None else "")
        for column in table.columns)
    order_by = ", ".join(identifier(key) for key in table.order_by)
    engine = "ReplacingMergeTree(version)" if replica_path is None else \
        f"ReplicatedReplacingMergeTree({quote_string(replica_path)}, '{{replica}}', version)"
    partition = f"\nPARTITION BY {table.partition_by}" if table.partition_by else ""
    return (f"CREATE TABLE IF NOT EXISTS {identifier(name or table.name)} (\n    {columns}\n)\n"
            f"ENGINE = {engine}{partition}\nORDER BY ({order_by})")


def create_distributed_sql(table: Table, *, cluster: str, database: str, local_name: str) -> str:
    """The ``Distributed`` table named like ``table`` over each shard's ``local_name``."""
    if table.shard_key is None:
        raise ValueError(f"{table.name} is not sharded")
    return (f"CREATE TABLE IF NOT EXISTS {identifier(table.name)} AS {identifier(local_name)} "
            f"ENGINE = Distributed({identifier(cluster)}, {identifier(database)}, {identifier(local_name)}, "
            f"{table.shard_key})")


def local_name(table: Table) -> str:
    """Name of a sharded table's per-shard storage table."""
    return f"{table.name}_local"


__all__ = ["column_type", "create_table_sql", "replica_path", "create_distributed_sql", "local_name"]
