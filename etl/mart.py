"""Open the mart a hub is configured with, and the secret its person pseudonyms are keyed with.

``HIE_MART_URL`` (or ``--mart-url``) chooses the engine:

- unset: chDB, in-process, under ``DATA/mart`` (the embedded default: no server to run);
- ``chdb:///abs/path[?database=name]``: chDB at that directory (database ``mart`` by default);
- ``clickhouse://host:port/database[?cluster=name]``: a ClickHouse server (native protocol),
  optionally a cluster whose shards hold the facts (``Distributed`` tables). Further options:
  ``replicated=true|false`` (default: the cluster has replicas in ``system.clusters``: replicated
  tables through the servers' ZooKeeper) and ``alt_hosts=host:port,…`` (where to connect when
  ``host`` is down; a replicated cluster's other nodes are added to it from ``system.clusters``).

chDB belongs to the one process that opened its directory, so under ``hie serve`` the embedded mart
has an owner process (``hie mart-owner``) and every other process of the hub reaches it through
:func:`owned_mart`, a client with the same :class:`~olap.backend.Backend` contract
(:mod:`olap.remote`; socket and key in the data directory). A ClickHouse server needs no owner.

The pseudonym key is 32 random bytes in ``DATA/mart-pseudonym.key`` (created 0600 on first use),
or ``HIE_PSEUDONYM_KEY`` (hex) when several hubs must produce the same pseudonyms. Losing the key
only means pseudonyms change at the next full reload; it never exposes an identity.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from hub.settings import Settings
from olap.backend import Backend
from olap.errors import BackendUnavailable
from olap.remote import Channel, RemoteBackend

from .errors import MartLocationError
from .transform import Pseudonymizer


def mart_url(settings: Settings) -> str:
    return settings.mart_location


def is_embedded(url: str) -> bool:
    """Whether ``url`` is a chDB mart (one process may open it at a time)."""
    return urlparse(url).scheme == "chdb"


def owner_channel(settings: Settings) -> Channel:
    """Where the owner of the hub's embedded mart listens (socket and key in the data directory)."""
    return Channel(settings.data_dir)


def owned_mart(settings: Settings, *, timeout: float | None = 60.0) -> RemoteBackend:
    """The hub's embedded mart as its owner process serves it (connects on first use)."""
    return RemoteBackend(owner_channel(settings), timeout=timeout)


def reach_owner(settings: Settings, *, timeout: float | None = None) -> RemoteBackend | None:
    """A client of the hub's mart owner if one answers now, else None (nobody holds the mart)."""
    if not owner_channel(settings).key_path.exists():
        return None
    backend = owned_mart(settings, timeout=5.0)  # the probe: a live owner answers in milliseconds
    try:
        backend.version()
    except BackendUnavailable:
        backend.close()
        return None
    backend.timeout = timeout
    return backend


def open_mart(url: str) -> Backend:
    """The backend for ``url``, with the mart schema applied (idempotent)."""
    from olap.schema.migrate import apply_schema

    parsed = urlparse(url)
    if parsed.scheme == "chdb":
        from olap.chdb_backend import ChdbBackend

        database = parse_qs(parsed.query).get("database", ["mart"])[0]
        backend: Backend = ChdbBackend(Path(parsed.netloc + parsed.path), database=database)
    elif parsed.scheme == "clickhouse":
        from olap.server_backend import ServerBackend

        options = parse_qs(parsed.query)
        replicated = options.get("replicated", [None])[0]
        if replicated not in (None, "true", "false"):
            raise MartLocationError("etl.mart.location", "the mart URL's replicated= must be true or false")
        backend = ServerBackend(parsed.hostname or "127.0.0.1", parsed.port or 9000,
                                database=parsed.path.strip("/") or "mart", cluster=options.get("cluster", [None])[0],
                                replicated=None if replicated is None else replicated == "true",
                                alt_hosts=options.get("alt_hosts", [None])[0])
    else:
        raise MartLocationError("etl.mart.location", "HIE_MART_URL must start with chdb:// or clickhouse://")
    apply_schema(backend)
    return backend


def pseudonymizer(settings: Settings) -> Pseudonymizer:
    if settings.pseudonym_key_hex:
        return Pseudonymizer(bytes.fromhex(settings.pseudonym_key_hex))
    path = settings.data_dir / "mart-pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(staged, path)  # atomic: the first process to get here wins, the others read its key
        except FileExistsError:
            pass
        finally:
            staged.unlink()
    return Pseudonymizer(path.read_bytes())


__all__ = ["mart_url", "open_mart", "pseudonymizer", "is_embedded", "owner_channel", "owned_mart", "reach_owner"]
