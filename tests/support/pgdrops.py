"""Databases of finished tests dropped on a thread of their own, while the next test runs.

On PostgreSQL 15 a ``DROP DATABASE`` waits for a checkpoint (with ``fsync`` on, as the suite's server
keeps it): 0.35 s a drop on the shared cores here against 0.07 s without fsync, and every test on
``postgresql`` dropped one or two databases (its own, and the empty one ``copy_migrated`` replaces)
before the next test could start. The drops now happen in the background, one at a time, in order;
a database is renamed out of the way first where its name is wanted again at once.

When the server stops, drops still queued are left undone: the server's directory goes with it.
"""
from __future__ import annotations

import queue
import threading
import uuid
import weakref

from .pgserver import PostgresServer

_DROPPERS: weakref.WeakKeyDictionary[PostgresServer, _Dropper] = weakref.WeakKeyDictionary()


class _Dropper:
    def __init__(self, server: PostgresServer):
        self.server = server
        self.names: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="pg-drops", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (name := self.names.get()) is not None:
            try:
                self.server.drop_database(name)
            except Exception:  # noqa: BLE001 - the server stopping under it: nothing left to drop
                pass

    def close(self) -> None:
        while True:  # what is still queued goes with the server's directory
            try:
                self.names.get_nowait()
            except queue.Empty:
                break
        self.names.put(None)
        self.thread.join(timeout=60)


def drop_later(server: PostgresServer, name: str) -> None:
    """Drop database ``name`` of ``server`` on the background thread (in the order asked)."""
    dropper = _DROPPERS.get(server)
    if dropper is None:
        dropper = _DROPPERS[server] = _Dropper(server)
    dropper.names.put(name)


def replace_later(server: PostgresServer, name: str) -> None:
    """Free the name ``name`` at once (the database renamed aside, nobody connected to it) and drop the
    renamed one later; a database somebody is connected to is dropped now."""
    aside = f"gone_{uuid.uuid4().hex[:16]}"
    try:
        server.execute_admin(f'ALTER DATABASE "{name}" RENAME TO "{aside}"')
    except Exception:  # noqa: BLE001 - connected to, or not there (PostgresServerError of either import path)
        server.drop_database(name)
        return
    drop_later(server, aside)


def stop_drops(server: PostgresServer) -> None:
    """Stop ``server``'s background drops (before the server itself stops)."""
    dropper = _DROPPERS.pop(server, None)
    if dropper is not None:
        dropper.close()


__all__ = ["drop_later", "replace_later", "stop_drops"]
