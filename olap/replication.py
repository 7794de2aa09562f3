"""What a replicated cluster's session needs beyond a plain one: its settings, the quorum retry, the
tables a returning node lacks, and which node it reads from (never one that is behind).

Every function takes the driver clients and the backend's ``guard`` (driver errors → ``OlapError``),
so that :mod:`olap.server_backend` stays the one module that talks to ClickHouse's driver.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Callable

from .errors import BackendUnavailable, QueryError
from .sqlparams import bind, identifier

log = logging.getLogger("olap.server_backend")

# A replicated cluster's session: one replica per shard, the first live one, for reads and writes
# alike; no block-hash deduplication of inserts (18.16's default for Replicated tables), so that an
# insert means the same as on one server (the last of two equal-version rows wins). An insert
# returns once two replicas of its shard hold it (``insert_quorum``): a replica that dies just after
# cannot take rows the reads of its peer would then miss. With a replica down the quorum cannot be
# met: the statement is sent again without it (``NO_QUORUM``), and the replica fetches it later.
# A replica that is behind by a second or more (one that came back and has not fetched what it
# missed) is passed over by Distributed reads, for the local replica as for remote ones
# (``max_replica_delay_for_distributed_queries``; 300 s by default); when every live replica of a
# shard is behind, the least behind answers (``fallback_to_stale_replicas_for_distributed_queries``).
REPLICATED_SETTINGS = {"insert_distributed_sync": 1, "load_balancing": "in_order", "insert_deduplicate": 0,
                       "max_replica_delay_for_distributed_queries": 1,
                       "fallback_to_stale_replicas_for_distributed_queries": 1}
# 285 too few live replicas, 286 the previous quorum insert not yet satisfied (a replica died
# since), 319 status unknown (the quorum wait timed out: 159): written on the live replica.
NO_QUORUM = frozenset({159, 285, 286, 319})
# Server errors that say the cluster cannot serve now, whatever the statement: a shard with no live
# replica, ZooKeeper away (replicated tables read-only). They are BackendUnavailable (the cubes answer
# olap.unavailable, retryable; an ETL run is recorded as failed and loads the same window next time),
# with one line of their own rather than the engine's message (its addresses and internals).
UNAVAILABLE = {
    209: "a node of the mart's cluster did not answer in time",
    210: "a node of the mart's cluster cannot be reached",
    225: "the mart's cluster has no ZooKeeper session: its replicated tables are read-only",
    242: "the mart's replicated tables are read-only (ZooKeeper away)",
    279: "a shard of the mart's cluster has no live replica",
    999: "the mart's cluster lost its ZooKeeper session (coordination)",
}
DOWN_FOR = 30.0  # seconds a replicated cluster's node found down is passed over without asking
# Seconds a node found up to date is read from without asking again. The check costs one
# system.replicas query, 1.1-1.2 ms here (docs/olap.md, "Replicated cluster"), so it is made at most once
# per FRESH_FOR, not before every statement.
FRESH_FOR = 2.0

# A node is behind for this database when one of its replicas is read-only (no ZooKeeper session:
# it cannot fetch), has parts to fetch, or reports a delay (18.16 reports the current time as the
# delay of a replica that has not loaded its queue since it started). Local columns only: no
# ZooKeeper round trip.
_BEHIND = ("SELECT count() FROM system.replicas WHERE database = {db:String} AND "
           "(is_readonly OR is_session_expired OR inserts_in_queue > 0 OR absolute_delay > 0)")

Guard = Callable[[Callable[[], Any]], Any]


def session_settings(layout: list[tuple[str, int, int, int]], *, cluster: bool, replicated: bool,
                     quorum_timeout: float) -> dict[str, Any]:
    """The settings of the backend's session on this server, cluster or replicated cluster."""
    if not replicated:
        return {"insert_distributed_sync": 1} if cluster else {}
    settings: dict[str, Any] = dict(REPLICATED_SETTINGS)
    if min(Counter(shard for _, _, shard, _ in layout).values()) > 1:
        settings.update(insert_quorum=2, insert_quorum_timeout=int(quorum_timeout * 1000))  # 2: a majority of 2 or 3
    return settings


def session_alt_hosts(address: str, alt_hosts: str | None, nodes: list[tuple[str, int]]) -> str:
    """``alt_hosts`` for a session on ``address``: the given ones, then every node of the cluster."""
    wanted = [*(alt_hosts or "").split(","), *(f"{node}:{number}" for node, number in nodes)]
    return ",".join(name for name in dict.fromkeys(wanted) if name not in ("", address))


def run_replicated(call, *, guard: Guard, reconnect: Callable[[], None], quorum: bool):
    """``call(settings)`` once more after a connection lost half-way (``reconnect`` first: the next
    live node), and without quorum when a down replica denies it (``quorum``: the session asks it)."""
    try:
        try:
            return guard(lambda: call(None))
        except BackendUnavailable:
            reconnect()
            return guard(lambda: call(None))
    except QueryError as exc:
        if exc.fields.get("engine_code") not in NO_QUORUM or not quorum:
            raise
        log.warning("olap.server.no_quorum: a replica is down; the insert is sent without quorum")
        return guard(lambda: call({"insert_quorum": 0}))


def is_behind(node, *, database: str, guard: Guard) -> bool:
    """Whether ``node`` (a driver client) holds a replica of ``database``'s tables that is behind."""
    ((count,),) = guard(lambda: node.execute(bind(_BEHIND, {"db": database})))
    return int(count) > 0


def fresh_node(nodes: list, *, database: str, guard: Guard, down: dict[int, float]) -> int | None:
    """Index of the first of ``nodes`` that is up and not behind; None when there is none. ``down``:
    id(node) -> until when a node found down is passed over (a host that is off costs a connect
    timeout); a node found down now is added to it for ``DOWN_FOR`` seconds."""
    for index, node in enumerate(nodes):
        if down.get(id(node), 0.0) > time.monotonic():
            continue
        try:
            if not is_behind(node, database=database, guard=guard):
                return index
        except BackendUnavailable:
            node.disconnect()
            down[id(node)] = time.monotonic() + DOWN_FOR
    return None


def complete_tables(nodes: list, shards: list[int], *, database: str, guard: Guard) -> None:
    """Create on each live node the tables of ``database`` it lacks (it was down when they were
    created), as a node that has them declares them: a replica so created fetches its data from
    ZooKeeper and its peers."""
    held: dict[int, set[str]] = {}
    for index, node in enumerate(nodes):
        try:
            held[index] = {str(name) for (name,) in guard(lambda node=node: node.execute(
                bind("SELECT name FROM system.tables WHERE database = {db:String}", {"db": database})))}
        except BackendUnavailable:
            node.disconnect()
    every = set().union(*held.values()) if held else set()
    for index, names in held.items():
        missed = sorted(every - names, key=lambda name: not name.endswith("_local"))  # storage first
        for name in missed:
            # a peer of its own shard first: should a server show ``{shard}`` expanded (18.16 does not)
            donor = nodes[min((other for other, has in held.items() if name in has),
                              key=lambda other: shards[other] != shards[index])]
            ((declared,),) = guard(lambda: donor.execute(f"SHOW CREATE TABLE {identifier(name)}"))
            statement = str(declared).replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
            guard(lambda index=index: nodes[index].execute(statement))
        if missed:
            log.info("olap.server.tables_completed: %d tables on node %d", len(missed), index + 1)


__all__ = ["DOWN_FOR", "FRESH_FOR", "NO_QUORUM", "UNAVAILABLE", "REPLICATED_SETTINGS", "complete_tables", "fresh_node",
           "is_behind", "run_replicated", "session_alt_hosts", "session_settings"]
