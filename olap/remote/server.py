"""The owner's side of the channel: answer the :class:`~olap.backend.Backend` calls of the hub's
other processes with the one backend this process opened.

chDB is an engine inside one process (its directory is locked by the first process that opens it),
so a hub with several web workers gives the embedded mart to one owner process, which serves
everyone's queries through this server. Each client connection gets a thread; the backend
serializes the statements themselves (as it does for the threads of one process).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from multiprocessing.connection import AuthenticationError, Connection, Listener, answer_challenge, deliver_challenge

from ..backend import Backend
from ..errors import OlapError
from .channel import REQUESTS, Channel, Reply, error_reply

log = logging.getLogger("hie.mart")


class MartServer:
    """Serves ``backend`` on ``channel`` until :meth:`stop`; start it only once this process owns the mart."""

    def __init__(self, backend: Backend, channel: Channel) -> None:
        self.backend, self.channel = backend, channel
        self._listener: Listener | None = None
        self._connections: set[Connection] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> "MartServer":
        """Bind the channel (replacing the socket a dead owner left behind) and accept in a thread."""
        self._authkey = self.channel.create_authkey()
        address = self.channel.address
        if not address.startswith("\0"):
            self.channel.socket_path.unlink(missing_ok=True)  # we hold the mart: any socket there is stale
        self._listener = Listener(address, family="AF_UNIX", backlog=64)
        if not address.startswith("\0"):
            os.chmod(self.channel.socket_path, 0o600)
        threading.Thread(target=self._accept, name="mart-owner-accept", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop accepting, drop every connection (their clients see the owner gone) and remove the socket."""
        if self._listener is None or self._stopping.is_set():
            return
        self._stopping.set()
        try:  # accept() does not wake up when its socket is closed under it: connect once to wake it
            with socket.socket(socket.AF_UNIX) as waker:
                waker.connect(self.channel.address)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            _hang_up(connection)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection = self._listener.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            if self._stopping.is_set():
                connection.close()
                return
            threading.Thread(target=self._serve, args=(connection,), name="mart-owner-client", daemon=True).start()

    def _serve(self, connection: Connection) -> None:
        with self._lock:
            self._connections.add(connection)
        try:
            # the handshake here, not in accept(): a slow client only holds its own thread
            deliver_challenge(connection, self._authkey)
            answer_challenge(connection, self._authkey)
            while True:
                request = connection.recv()
                connection.send(self._answer(request))
        except AuthenticationError:
            log.warning("mart owner: a connection failed the key challenge")
        except (EOFError, OSError):
            pass  # the client went away (a worker stopped, a connection dropped)
        except Exception as error:  # noqa: BLE001 - a request that cannot be read or answered ends its connection only
            log.warning("mart owner: a connection ended (%s)", type(error).__name__)
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def _answer(self, request) -> Reply:
        try:
            name, args, kwargs = request
            if name not in REQUESTS:
                raise OlapError("olap.owner.request", "not a call of the mart contract")
            if name == "describe":
                return ("ok", {"database": self.backend.database, "cluster": getattr(self.backend, "cluster", None)})
            return ("ok", getattr(self.backend, name)(*args, **kwargs))
        except OlapError as error:
            return error_reply(error)
        except Exception as error:  # noqa: BLE001 - a bug here must not end the owner; the client gets a code
            log.error("mart owner: %s failed (%s)", request[0] if isinstance(request, tuple) else "request",
                      type(error).__name__)
            return error_reply(OlapError("olap.owner.failed", type(error).__name__))


def _hang_up(connection: Connection) -> None:
    """End a connection another thread may be reading: shut the socket down (closing the descriptor
    alone would not wake that thread's read, and the client would not see the owner go)."""
    try:
        with socket.fromfd(connection.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


__all__ = ["MartServer"]
