"""Open the mart a hub is configured with, and the secret its person pseudonyms are keyed with.

``HIE_MART_URL`` (or ``--mart-url``) chooses the engine:

- unset: chDB, in-process, under ``DATA/mart`` (the embedded default: no server to run);
- ``chdb:///abs/path[?database=name]``: chDB at that directory (database ``mart`` by default);
- ``clickhouse://host:port/database[?cluster=name]``: a ClickHouse server (native protocol),
  optionally a cluster whose shards hold the facts (``Distributed`` tables).

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

from .errors import MartLocationError
from .transform import Pseudonymizer


def mart_url(settings: Settings) -> str:
    return settings.mart_location


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

        cluster = parse_qs(parsed.query).get("cluster", [None])[0]
        backend = ServerBackend(parsed.hostname or "127.0.0.1", parsed.port or 9000,
                                database=parsed.path.strip("/") or "mart", cluster=cluster)
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


__all__ = ["mart_url", "open_mart", "pseudonymizer"]
