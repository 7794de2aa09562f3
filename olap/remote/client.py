"""A process's handle on a mart that another process owns: the :class:`~olap.backend.Backend`
contract, answered by the owner over its :class:`~olap.remote.channel.Channel`.

Frames arrive exactly as the owner's backend returned them (pickled: dtypes, index and all). An
error the owner's backend raised arrives as the same class with the same code and fields (a query
error stays ``olap.query.failed``); an owner that cannot be reached, or does not answer within
``timeout`` seconds, is :class:`~olap.errors.BackendUnavailable` (``olap.owner.unavailable`` /
``olap.owner.timeout``), at once rather than a hang. Connections are kept and reused by the
threads of this process; one that went stale (the owner restarted) is replaced once.
"""
from __future__ import annotations

import threading
from multiprocessing.connection import AuthenticationError, Client, Connection, answer_challenge, deliver_challenge
from typing import TYPE_CHECKING, Any

from ..backend import Backend, Params
from ..errors import BackendUnavailable
from .channel import Channel, unpack_reply

if TYPE_CHECKING:
    import pandas as pd


class _Broken(Exception):
    """The connection failed under a call (owner gone or restarted)."""


class RemoteBackend(Backend):
    """The mart of the owner listening on ``channel``; ``timeout`` (seconds, None: no limit) bounds each call."""

    def __init__(self, channel: Channel, *, timeout: float | None = 60.0) -> None:
        self.channel, self.timeout = channel, timeout
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._described: dict[str, Any] | None = None

    @property
    def database(self) -> str:  # type: ignore[override] - the owner's backend decides it
        return self._describe()["database"]

    @property
    def cluster(self) -> str | None:
        return self._describe()["cluster"]

    def execute(self, sql: str, params: Params = None) -> None:
        self._call("execute", sql, params)

    def query_df(self, sql: str, params: Params = None, *, small: bool = False) -> "pd.DataFrame":
        return self._call("query_df", sql, params, small=small)

    def insert_df(self, table: str, df: "pd.DataFrame") -> int:
        return self._call("insert_df", table, df)

    def version(self) -> tuple[int, ...]:
        return self._call("version")

    def close(self) -> None:
        """Close this process's connections; the owner and its mart stay."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _describe(self) -> dict[str, Any]:
        if self._described is None:
            self._described = self._call("describe")
        return self._described

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        try:
            reply = self._exchange(connection or self._connect(), (name, args, kwargs))
        except _Broken:
            if connection is None:
                raise self._unavailable() from None
            # a kept connection to an owner that has restarted since: once more on a fresh one
            try:
                reply = self._exchange(self._connect(), (name, args, kwargs))
            except _Broken:
                raise self._unavailable() from None
        return unpack_reply(reply)

    def _exchange(self, connection: Connection, request: tuple) -> Any:
        try:
            connection.send(request)
            if not connection.poll(self.timeout):
                connection.close()  # its late reply would answer the next call
                raise BackendUnavailable("olap.owner.timeout", "the mart owner did not answer in time",
                                         seconds=self.timeout)
            reply = connection.recv()
        except (EOFError, OSError):
            connection.close()
            raise _Broken from None
        with self._lock:
            self._idle.append(connection)
        return reply

    def _connect(self) -> Connection:
        authkey = self.channel.authkey()
        try:
            connection = Client(self.channel.address, family="AF_UNIX")
        except OSError:
            raise self._unavailable() from None
        try:
            if not connection.poll(self.timeout):
                raise BackendUnavailable("olap.owner.timeout", "the mart owner did not answer in time",
                                         seconds=self.timeout)
            answer_challenge(connection, authkey)
            deliver_challenge(connection, authkey)
        except AuthenticationError:
            connection.close()
            raise BackendUnavailable("olap.owner.refused", "the mart owner refused this process's key") from None
        except (EOFError, OSError):
            connection.close()
            raise self._unavailable() from None
        except BackendUnavailable:
            connection.close()
            raise
        return connection

    def _unavailable(self) -> BackendUnavailable:
        return BackendUnavailable("olap.owner.unavailable", "the mart owner process does not answer",
                                  address=str(self.channel.socket_path))


__all__ = ["RemoteBackend"]
