"""Throwaway ClickHouse servers as the shards (and replicas) of one cluster, for the test session.

    with ClickhouseCluster(shards=2, name="mart_cluster") as cluster:
        cluster.servers[0].tcp_port   # every server knows the cluster in <remote_servers>

    with ClickhouseCluster(shards=2, replicas=2, zookeeper=zk) as cluster:   # zk: tests/support/zkserver.py
        cluster.replica(1, 2).halt()  # shard 1's second replica down, its data dir kept
        cluster.replica(1, 2).start()  # back on the same ports and data: it catches up from ZooKeeper

Each server is a ``ClickhouseServer`` (tests/support/chserver.py).
"""
from __future__ import annotations

from .chserver import ClickhouseServer, ClickhouseServerError
from .servers import Launched, start_on_free_ports

__all__ = ["ClickhouseCluster"]


class ClickhouseCluster(Launched):
    """Throwaway servers that all define cluster ``name``: ``shards`` × ``replicas`` servers. With
    replicas, a ``zookeeper`` (tests/support/zkserver.py, anything with ``host`` and ``port``) is
    required; each server gets macros ``shard`` (``01``…) and ``replica`` (``s1r1``…: unique in
    the whole cluster, since a dimension's one ZooKeeper path holds every node as a replica)."""

    def __init__(self, *, shards: int = 2, replicas: int = 1, name: str = "mart_cluster",
                 zookeeper=None, start_timeout: float = 30.0) -> None:
        if replicas > 1 and zookeeper is None:
            raise ClickhouseServerError("replicated shards need a ZooKeeper")
        self.name = name
        self.shards, self.replicas = shards, replicas
        self.zookeeper = zookeeper
        self.servers = [ClickhouseServer(start_timeout=start_timeout) for _ in range(shards * replicas)]

    def replica(self, shard: int, replica: int) -> ClickhouseServer:
        """The server of ``shard``'s ``replica`` (both counted from 1, as system.clusters does)."""
        return self.servers[(shard - 1) * self.replicas + (replica - 1)]

    def start(self) -> "ClickhouseCluster":
        # a port taken between probe and bind: every server on new ports
        return start_on_free_ports(self._start, ClickhouseServerError)

    def _start(self) -> "ClickhouseCluster":
        for server in self.servers:
            server.reserve_ports()
        layout = [[self.replica(shard, replica).tcp_port for replica in range(1, self.replicas + 1)]
                  for shard in range(1, self.shards + 1)]
        try:
            for shard in range(1, self.shards + 1):
                for replica in range(1, self.replicas + 1):
                    server = self.replica(shard, replica)
                    server.clusters = {self.name: layout}  # type: ignore[dict-item]
                    if self.zookeeper is not None:
                        server.zookeeper = (self.zookeeper.host, int(self.zookeeper.port))
                        server.macros = {"shard": f"{shard:02d}", "replica": f"s{shard}r{replica}"}
                    server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
