"""PostgreSQL: several processors at once, each chunk claimed, prepared and applied in one transaction.

Several processors may run at once (``hie process`` on several machines). There is no
database-wide write lock to keep short, so a chunk is claimed, prepared and applied in one
transaction: its messages are taken with ``FOR UPDATE SKIP LOCKED`` (another processor skips them
instead of waiting, and a crash rolls the claim back: they are pending again), then the stages
declare what the chunk's database work could race on (``Stage.lock_keys``: the MPI's blocking keys,
the documents' keys) and the chunk takes all those keys as advisory locks, sorted, before any stage
applies (``hub.store.advisory``): two chunks about the same person or document run one after the
other, the second seeing what the first committed; chunks about others run side by side.
A processor paused inside a chunk (SIGSTOP, a stalled machine, a partition that leaves its connection
open) is, to PostgreSQL, idle in transaction with those locks held: each chunk's transaction sets
``idle_in_transaction_session_timeout`` (``tx_timeout_s``, HIE_PROCESSING_TX_TIMEOUT_S), so the server
ends such a session and rolls the chunk back (its messages pending again, processed once later), and
the others wait that long at most.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from .chunks import PENDING, PendingMessage, Stage, apply_chunk, claim
from .exchange import sql as statements
from .store import advisory
from .store.db import transaction
from .store.rawsql import RawSql


def process_claimed(sessions: sessionmaker[Session], stages: Sequence[Stage], *, limit: int, chunk: int,
                      tx_timeout_s: float) -> int:
    """PostgreSQL: up to ``limit`` messages, ``chunk`` per transaction, each chunk claimed with SKIP LOCKED."""
    finished = taken = 0
    idle_limit = f"{max(1, round(tx_timeout_s * 1000))}ms"
    while taken < limit:
        now = utcnow()
        with transaction(sessions, durable=False) as session:  # not durable: see hub.pipeline._commit_chunk
            sql = RawSql(session)
            # A processor paused from here to the commit holds its rows and keys: the server ends it.
            sql.rows("SELECT set_config('idle_in_transaction_session_timeout', ?, true)", (idle_limit,))
            messages = [PendingMessage(*row) for row in statements.claim_pending(sql, PENDING,
                                                                                  min(chunk, limit - taken), now)]
            if not messages:
                break
            # Prepared inside the transaction: nothing global is held, only these rows, which the
            # other processors skip.
            prepared = [stage.prepare(messages) for stage in stages]
            advisory.hold(sql, set().union(*(stage.lock_keys(p) for stage, p in zip(stages, prepared))))
            claim(session, messages, now)  # held since the SELECT: every one of them moves
            done = apply_chunk(session, stages, messages, prepared, now)
        # one left pending (a stage's bug) waits for its retry_after: the next chunk is the ones behind it
        finished, taken = finished + done, taken + len(messages)
    return finished


__all__ = ["process_claimed"]
