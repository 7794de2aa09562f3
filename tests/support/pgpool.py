"""The suite's PostgreSQL databases made and dropped on threads of their own, while tests run.

On PostgreSQL 15 a ``DROP DATABASE`` waits for a checkpoint (with ``fsync`` on, as the suite's server
keeps it): 0.35 s a drop on the shared cores here against 0.07 s without fsync; a ``CREATE DATABASE``
took 0.2 s (empty) and 0.5 s (a copy of the migrated template). Every test on ``postgresql`` created
one or two databases and dropped one or two before the next test could start. Now:

- ``take`` renames a spare database, made in the background ahead of time (empty, or a copy of a
  template), to the name the test wants; two spares of each kind are kept ready.
- ``drop_later`` drops a finished test's database in the background, in order; ``replace_later``
  renames a database aside first, where its name is wanted again at once.

When the server stops, spares and drops still queued are left: the server's directory goes with them.
"""
from __future__ import annotations

import queue
import threading
import uuid
import weakref

from .pgserver import PostgresServer

SPARES = 2  # ready databases of each kind (empty; a template's copy)

_POOLS: weakref.WeakKeyDictionary[PostgresServer, _Pool] = weakref.WeakKeyDictionary()


class _Spares:
    """Databases made ahead of time on a thread: empty (``template`` None) or copies of ``template``."""

    def __init__(self, server: PostgresServer, template: str | None):
        self.server, self.template = server, template
        self.ready: queue.Queue[str] = queue.Queue()
        self.room = threading.Semaphore(SPARES)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="pg-spares", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.room.acquire()
            if self.stopping:
                return
            name = f"spare_{uuid.uuid4().hex[:16]}"
            statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self.template}"' if self.template else "")
            try:
                self.server.execute_admin(statement)
            except Exception:  # noqa: BLE001 - the server stopping under it
                return
            self.ready.put(name)

    def take(self, name: str) -> None:
        while True:
            try:
                spare = self.ready.get(timeout=1)
                break
            except queue.Empty:
                if not self.thread.is_alive():  # it failed: make this one here, as before
                    self.server.execute_admin(f'CREATE DATABASE "{name}"' +
                                              (f' TEMPLATE "{self.template}"' if self.template else ""))
                    return
        self.room.release()
        self.server.execute_admin(f'ALTER DATABASE "{spare}" RENAME TO "{name}"')

    def stop(self) -> None:
        self.stopping = True
        self.room.release()
        self.thread.join(timeout=60)


class _Pool:
    def __init__(self, server: PostgresServer):
        self.server = server
        self.spares: dict[str | None, _Spares] = {}
        self.lock = threading.Lock()
        self.drops: queue.Queue[str | None] = queue.Queue()
        self.dropper = threading.Thread(target=self._drop, name="pg-drops", daemon=True)
        self.dropper.start()

    def _drop(self) -> None:
        while (name := self.drops.get()) is not None:
            try:
                self.server.drop_database(name)
            except Exception:  # noqa: BLE001 - the server stopping under it: nothing left to drop
                pass

    def spares_of(self, template: str | None) -> _Spares:
        with self.lock:
            if template not in self.spares:
                self.spares[template] = _Spares(self.server, template)
            return self.spares[template]

    def close(self) -> None:
        for spares in self.spares.values():
            spares.stop()
        while True:  # what is still queued goes with the server's directory
            try:
                self.drops.get_nowait()
            except queue.Empty:
                break
        self.drops.put(None)
        self.dropper.join(timeout=60)


def _pool(server: PostgresServer) -> _Pool:
    pool = _POOLS.get(server)
    if pool is None:
        pool = _POOLS[server] = _Pool(server)
    return pool


def take(server: PostgresServer, name: str, *, template: str | None = None) -> str:
    """Database ``name`` on ``server``, empty or a copy of ``template``, from the spares; its URL."""
    _pool(server).spares_of(template).take(name)
    return server.url(name)


def drop_later(server: PostgresServer, name: str) -> None:
    """Drop database ``name`` of ``server`` on the background thread (in the order asked)."""
    _pool(server).drops.put(name)


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


def stop_pool(server: PostgresServer) -> None:
    """Stop ``server``'s background work (before the server itself stops)."""
    pool = _POOLS.pop(server, None)
    if pool is not None:
        pool.close()


__all__ = ["SPARES", "take", "drop_later", "replace_later", "stop_pool"]
