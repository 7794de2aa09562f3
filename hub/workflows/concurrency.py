"""What lets several processors share the workflows' runner on one database (docs/workflows.md, "Several
processors"): the lease ``workflows``, taken by a pass at its first write, and the cutoff below which no
transaction still open can commit a change."""
from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from ..store.horizon import horizon
from ..store.lease import Lease

LEASE = "workflows"  # the lease of the one runner at a time (hub.store.lease)
# HIE_WORKFLOW_SETTLE's default per database: SQLite commits one writer at a time; on PostgreSQL, the
# clock skew allowed between the nodes that date the changes (and the moment between a processing
# chunk's clock reading and its transaction's start)
DEFAULT_SETTLE_S = {"sqlite": 0.0, "postgresql": 2.0}


def settle_of(sessions: sessionmaker[Session], settle_s: float | None) -> float:
    """``settle_s``, or the default of the sessions' database when it is None (``DEFAULT_SETTLE_S``)."""
    if settle_s is not None:
        return settle_s
    return DEFAULT_SETTLE_S.get(sessions.kw["bind"].dialect.name, 0.0)


# Rows a transaction writes are dated after it started (less the clock skew the settle time allows), so
# nothing committed later can be dated before the horizon (hub.store.horizon), less the settle time.
def cutoff(session: Session, settle_s: float) -> datetime | None:
    """The newest ``updated_at`` a pass may take now (None: no limit). SQLite: now less ``settle_s`` (commits
    are serialized); PostgreSQL: the start of the oldest transaction still open, or now, less ``settle_s``."""
    limit = horizon(session)
    if limit is not None:
        return limit - timedelta(seconds=settle_s)
    return utcnow() - timedelta(seconds=settle_s) if settle_s else None


class LeaseBusy(Exception):
    """Another runner holds the lease ``workflows``: this pass leaves the work to it."""


class PassTurn:
    """A pass's right to write: the lease, taken (and kept) at the first write the pass has to do, so an
    idle pass writes nothing at all; without a lease, always.

    Called before each write (the lease taken if need be), then in the write's own transaction with its
    session: the lease is confirmed ours there and its row stays locked to that transaction's end, so a
    runner that stalled past its lease (SIGSTOP, a VM pause) and lost it to another writes nothing more."""

    def __init__(self, lease: Lease | None, stack: ExitStack):
        self.lease, self.stack, self.held = lease, stack, lease is None

    def __call__(self, session: Session | None = None) -> None:
        if self.lease is None:
            return
        if not self.held:
            if not self.lease.try_acquire():
                raise LeaseBusy(self.lease.name)
            self.stack.enter_context(self.lease.kept())
            self.held = True
        if self.lease.lost.is_set() or (session is not None and not self.lease.fence(session)):
            raise LeaseBusy(self.lease.name)  # taken over meanwhile: the transaction rolls back


__all__ = ["LEASE", "DEFAULT_SETTLE_S", "LeaseBusy", "PassTurn", "cutoff", "settle_of"]
