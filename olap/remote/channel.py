"""The channel between a mart owner and its clients: where the owner listens, the key clients prove
themselves with, and how a reply (a value, or an error) travels.

The owner listens on a Unix socket in a directory (the hub's data directory): ``mart-owner.sock``,
mode 0600. A path too long for a Unix socket (108 bytes) falls back to an abstract socket named
after it. Either way a client must first pass ``multiprocessing``'s HMAC challenge with the 32
random bytes of ``mart-owner.key`` (0600, created by the owner), so only the hub's own processes —
the ones that can read the data directory, and so the mart itself — can ask anything; messages are
pickled only after that handshake.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, OlapError, ParameterError, QueryError, SchemaError

SOCKET_NAME = "mart-owner.sock"
KEY_NAME = "mart-owner.key"
_UNIX_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
REQUESTS = frozenset({"execute", "query_df", "insert_df", "version", "describe"})
_ERRORS = {cls.__name__: cls for cls in (OlapError, ParameterError, QueryError, BackendUnavailable, SchemaError)}

Request = tuple[str, tuple, dict]  # (method of the Backend contract, args, kwargs)
Reply = tuple  # ("ok", value) or ("error", class name, code, detail, fields)


@dataclass(frozen=True)
class Channel:
    """The owner's socket and key files in ``directory``."""

    directory: Path

    @property
    def socket_path(self) -> Path:
        return self.directory / SOCKET_NAME

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_NAME

    @property
    def address(self) -> str:
        """The address the owner binds and clients connect to (``multiprocessing.connection``)."""
        path = str(self.socket_path.resolve())
        if len(os.fsencode(path)) <= _UNIX_PATH_MAX:
            return path
        return "\0hie-mart-" + hashlib.sha256(os.fsencode(path)).hexdigest()[:32]  # Linux abstract namespace

    def authkey(self) -> bytes:
        """The key clients answer the owner's challenge with (read at every connection: an owner may renew it)."""
        try:
            return self.key_path.read_bytes()
        except OSError:
            raise BackendUnavailable("olap.owner.unavailable", "no mart owner key: is the hub's mart owner running?",
                                     path=str(self.key_path)) from None

    def create_authkey(self) -> bytes:
        """The key, created (32 random bytes, 0600) by the first owner that needs it."""
        if not self.key_path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            staged = self.key_path.with_name(f".{KEY_NAME}.{os.getpid()}")
            descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
            try:
                os.link(staged, self.key_path)  # atomic: the first owner to get here wins
            except FileExistsError:
                pass
            finally:
                staged.unlink()
        return self.key_path.read_bytes()


def error_reply(error: OlapError) -> Reply:
    """An owner's error as it travels: its class, code, detail and fields (an exception does not pickle well)."""
    name = type(error).__name__ if type(error).__name__ in _ERRORS else "OlapError"
    return ("error", name, error.code, error.detail, dict(error.fields))


def unpack_reply(reply: Reply) -> Any:
    """The value of a reply, or the owner's error raised again here: the same class and code."""
    if reply[0] == "ok":
        return reply[1]
    _, name, code, detail, fields = reply
    raise _ERRORS.get(name, OlapError)(code, detail, **fields)


__all__ = ["Channel", "REQUESTS", "Request", "Reply", "error_reply", "unpack_reply", "SOCKET_NAME", "KEY_NAME"]
