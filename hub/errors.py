"""The hub's own errors: refusals of the exchange, the store, the patient index and record access.

They derive from the protocol's root (``protocol.errors.HubError``) and carry a machine code of its
fault table, so every edge renders them alike.
"""
from __future__ import annotations

import traceback
from pathlib import Path

from protocol.errors import HubError


class ExchangeError(HubError):
    """A verified message cannot be accepted (semantics, idempotency, limits)."""


class StoreError(HubError):
    """The durable store could not complete a write (the request fails, nothing is acknowledged)."""


class MpiError(HubError):
    """A master patient index operation is impossible in the index's current state."""


class AccessError(HubError):
    """A read of personal records is not allowed for the caller (always audited)."""


def failure_summary(exc: BaseException) -> str:
    """An unexpected exception for the operators' log: its type, the database's error code if it
    has one, and where it was raised; never its message, which may quote data (PostgreSQL's
    "Key (value)=(…) already exists", a parser's excerpt of a document)."""
    parts = [type(exc).__name__]
    orig = getattr(exc, "orig", None)  # a SQLAlchemy error's driver exception
    state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    if state:
        parts.append(f"[{state}]")
    frames = traceback.extract_tb(exc.__traceback__)[-8:]
    if frames:
        parts.append("at " + " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)))
    return " ".join(parts)


__all__ = ["ExchangeError", "StoreError", "MpiError", "AccessError", "failure_summary"]
