"""The replay guard's spent MessageIDs (``request_nonce``, ``hub.runtime.NonceGuard``) removed once expired.

A periodic check of the workflows' runner: one processor at a time prunes (the holder of the lease
``workflows``), in the check's own transaction. Its probe reads the ``expires_at`` index; it finds work
only when a MessageID expired ``PRUNE_AFTER`` ago, so the table is pruned about that often and an idle
pass writes nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..exchange.models import RequestNonce
from .runner import periodic

NAME = "exchange.nonces"
PRUNE_AFTER = timedelta(minutes=10)  # how long an expired MessageID may stay before a pass prunes


def nonces_stale(session: Session, now: datetime) -> bool:
    """Whether a MessageID expired more than ``PRUNE_AFTER`` ago (a read: the probe)."""
    query = select(RequestNonce.member).where(RequestNonce.expires_at < now - PRUNE_AFTER).limit(1)
    return session.execute(query).first() is not None


@periodic(NAME, probe=nonces_stale)
def prune_nonces(session: Session, now: datetime) -> int:
    """Remove every MessageID expired at ``now``; how many."""
    return session.execute(delete(RequestNonce).where(RequestNonce.expires_at < now)
                           .execution_options(synchronize_session=False)).rowcount


__all__ = ["NAME", "PRUNE_AFTER", "nonces_stale", "prune_nonces"]
