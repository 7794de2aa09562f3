"""The workflow runner: handlers react to what the records store has stored, after the fact.

Workflows stay out of the processor's hot path (its throughput is a measured target). A handler is
registered per document type (``@on_documents("InfectiousDiseaseReport")``) and gets the
``record_document`` rows changed since its watermark (``workflow_watermark``: name → the last
(updated_at, row id) it handled), ``BATCH`` at a time, each batch in one transaction with the
watermark's advance: a change is handled exactly once, and a crash before the commit leaves the
watermark where it was, so the batch runs again. Handlers are idempotent on (document row id,
version) all the same. A handler sees new versions and cancellations (``status`` ``cancelled``) and
must handle both; it may read the document's normalized rows (``hub.records.models``).

The processor's process runs a pass after its processing ticks when there were changes, at most
every ``HIE_WORKFLOW_INTERVAL`` seconds (``WorkflowTicker``); ``hie workflows run`` runs one pass.
Handlers live in the modules of ``HANDLER_MODULES`` (a workflow is added by adding its module there).

Several processors on one PostgreSQL (docs/workflows.md, "Several processors"): the ticker of one
processor at a time runs passes, the holder of the lease ``workflows`` (``hub.store.lease``), and a pass
reads only the changes dated before its cutoff (``cutoff``): the start of the oldest transaction still
open on the database, and now, less the settle time, so a processing transaction that began earlier and
commits later is never passed over. Each batch confirms the lease in its own transaction
(``PassTurn``): a runner that stalled past its lease and lost it writes nothing more. A pass that
finds nothing to do writes nothing (idle passes and
checks read first): it never holds SQLite's write lock for nothing.
"""
from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from ..errors import failure_summary
from ..records.models import DocumentStatus, RecordDocument
from ..store.db import transaction
from ..store.lease import DEFAULT_TTL_S, Lease
from .checks import CHECK_INTERVAL_S, CHECKS, PROBES, periodic, run_checks
from .concurrency import DEFAULT_SETTLE_S, LEASE, LeaseBusy, PassTurn, cutoff, settle_of
from .models import Watermark

log = logging.getLogger(__name__)
BATCH = 200  # changes per handler transaction (a few ms of the write lock)
HANDLER_MODULES = ("hub.workflows.referral.handler", "hub.workflows.drugs.anomalies",
                   "hub.workflows.surveillance.workflow",  # the class 甲 alert is judged here
                   "hub.workflows.nonces")  # the replay guard's expired MessageIDs, pruned
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class DocumentChange:
    """A ``record_document`` row as it is now: a new document, a new version, or a cancellation."""

    document_row_id: int
    document_type: str
    institution: str
    id_root: str
    document_id: str
    version: int
    status: str
    person_id: int | None
    updated_at: datetime

    @property
    def cancelled(self) -> bool:
        return self.status == DocumentStatus.CANCELLED.value

    @property
    def occurrence(self) -> str:
        """How alerts name this document (an internal row id, never a patient value)."""
        return f"record_document:{self.document_row_id}"


HandlerFunction = Callable[[Session, list[DocumentChange], datetime], None]


@dataclass(frozen=True)
class Handler:
    name: str
    document_types: frozenset[str]
    handle: HandlerFunction


HANDLERS: dict[str, Handler] = {}


def on_documents(*document_types: str, name: str | None = None) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register the decorated ``handle(session, changes, now)`` for ``document_types`` (its watermark: ``name``)."""
    def register(function: HandlerFunction) -> HandlerFunction:
        key = name or f"{function.__module__.rpartition('.')[2]}.{function.__name__}"
        if key in HANDLERS and HANDLERS[key].handle is not function:
            raise ValueError(f"workflow handler {key!r} registered twice")
        HANDLERS[key] = Handler(key, frozenset(document_types), function)
        return function

    return register


def handlers() -> list[Handler]:
    """Every registered handler (importing ``HANDLER_MODULES`` registers them)."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return [HANDLERS[key] for key in sorted(HANDLERS)]


_COLUMNS = (RecordDocument.id, RecordDocument.document_type, RecordDocument.institution, RecordDocument.id_root,
            RecordDocument.document_id, RecordDocument.version, RecordDocument.status, RecordDocument.person_id,
            RecordDocument.updated_at)


def _hold(session: Session, name: str, now: datetime) -> Watermark:
    """The handler's watermark, its row written first: one runner per handler at a time (the write lock
    on SQLite, the row lock on PostgreSQL), so two passes never handle the same batch."""
    session.execute(update(Watermark).where(Watermark.name == name).values(name=Watermark.name))
    found = session.get(Watermark, name, populate_existing=True)
    if found is None:
        found = Watermark(name=name, updated_at=_EPOCH, document_row_id=0, changes=0, advanced_at=now)
        session.add(found)
        session.flush()  # a concurrent first pass: IntegrityError, the batch is retried next pass
    return found


def changes_query(document_types: frozenset[str], mark: Watermark, limit: int, *, until: datetime | None = None):
    """The changes of ``document_types`` after ``mark`` (and not after ``until``), in order (one index
    seek per type)."""
    # (updated_at, id) after the mark; the first term is what lets the index (type, updated_at, id) seek
    after = and_(RecordDocument.updated_at >= mark.updated_at,
                 or_(RecordDocument.updated_at > mark.updated_at, RecordDocument.id > mark.document_row_id))
    query = select(*_COLUMNS).where(RecordDocument.document_type.in_(sorted(document_types)), after)
    if until is not None:
        query = query.where(RecordDocument.updated_at <= until)
    return query.order_by(RecordDocument.updated_at, RecordDocument.id).limit(limit)


def _changes(session: Session, handler: Handler, mark: Watermark, limit: int,
             until: datetime | None) -> list[DocumentChange]:
    query = changes_query(handler.document_types, mark, limit, until=until)
    return [DocumentChange(*row) for row in session.execute(query)]


def _advance(mark: Watermark, changes: list[DocumentChange], now: datetime) -> None:
    last = changes[-1]
    mark.updated_at, mark.document_row_id = last.updated_at, last.document_row_id
    mark.changes += len(changes)
    mark.advanced_at = now


def _waiting(sessions: sessionmaker[Session], handler: Handler, until: datetime | None) -> bool:
    """Whether ``handler`` has a change to take (read without a write transaction: an idle pass writes nothing)."""
    with sessions() as session:
        mark = session.get(Watermark, handler.name)
        if mark is None:
            mark = Watermark(name=handler.name, updated_at=_EPOCH, document_row_id=0)
        return session.execute(changes_query(handler.document_types, mark, 1, until=until)).first() is not None


def run_batch(sessions: sessionmaker[Session], handler: Handler, *, limit: int = BATCH,
              settle_s: float | None = 0.0, turn: PassTurn | None = None) -> int:
    """One batch of ``handler`` in one transaction with its watermark's advance; how many changes.

    Only changes dated before ``cutoff`` are taken: with several processors on one database, a processing
    transaction may commit rows dated before rows another has committed and a pass has already read.
    ``settle_s``: changes younger than this wait for a later pass (None: the database's default).
    """
    settle_s = settle_of(sessions, settle_s)
    with sessions() as session:
        until = cutoff(session, settle_s)
    if not _waiting(sessions, handler, until):
        return 0
    if turn is not None:
        turn()  # LeaseBusy: another runner's
    now = utcnow()
    with transaction(sessions) as session:
        if turn is not None:
            turn(session)  # still ours, and kept so until this batch commits (else LeaseBusy: rolled back)
        mark = _hold(session, handler.name, now)
        changes = _changes(session, handler, mark, limit, until)
        if not changes:
            return 0
        handler.handle(session, changes, now)
        _advance(mark, changes, now)
    return len(changes)


@dataclass
class PassResult:
    """What one pass did: changes handled per handler, and the handlers that failed (retried next pass)."""

    changes: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # stopped at the time budget: more to do next pass
    busy: bool = False  # another runner held the lease ``workflows``: the work was left to it

    @property
    def total(self) -> int:
        return sum(self.changes.values())


def run_pass(sessions: sessionmaker[Session], selected: Iterable[Handler] | None = None, *,
             limit: int = BATCH, budget_s: float | None = None, settle_s: float | None = 0.0,
             clock: Callable[[], float] = time.monotonic, lease: Lease | None = None) -> PassResult:
    """Every handler, batch after batch, until each has caught up (or ``budget_s`` is spent: the rest is
    for the next pass); a failing handler is logged and skipped. With ``lease``, the pass takes it before
    its first write and keeps it to its end; held by another runner, the pass stops there (``busy``)."""
    result = PassResult()
    deadline = None if budget_s is None else clock() + budget_s
    with ExitStack() as stack:
        turn = PassTurn(lease, stack)
        try:
            _run_handlers(sessions, selected, result, limit=limit, deadline=deadline, settle_s=settle_s,
                          clock=clock, turn=turn)
            if selected is None:
                run_checks(sessions, changes=result.changes, failed=result.failed, turn=turn)
        except LeaseBusy:
            result.busy = True
            log.debug("workflow pass left to the holder of the lease %s", LEASE)
    return result


def _run_handlers(sessions, selected, result: PassResult, *, limit: int, deadline: float | None,
                  settle_s: float | None, clock: Callable[[], float], turn: PassTurn) -> None:
    for handler in (handlers() if selected is None else selected):
        done = 0
        try:
            while True:
                if deadline is not None and clock() >= deadline:
                    result.unfinished.append(handler.name)
                    break
                count = run_batch(sessions, handler, limit=limit, settle_s=settle_s, turn=turn)
                done += count
                if count < limit:
                    break
        except LeaseBusy:
            raise
        except IntegrityError:  # another runner created the watermark first: its next pass goes on
            result.failed.append(handler.name)
        except Exception as error:  # the batch rolled back: retried on the next pass
            log.error("workflow handler %s failed: %s", handler.name, failure_summary(error))
            result.failed.append(handler.name)
        finally:
            result.changes[handler.name] = done


PASS_BUDGET_S = 5.0  # a pass in the processor's thread hands back to processing after this long


class WorkflowTicker:
    """Called after each processing tick with how many messages it finished: runs a pass when there
    were changes (or at start, to catch up), at most every ``interval_s`` seconds, for at most
    ``budget_s`` (a catch-up over a bulk load goes on at the next ticks, processing in between).

    One processor's ticker at a time writes: a pass that finds work takes the lease ``workflows`` first
    (kept for the pass, then given back); while another holds it, the pass leaves the work to it.
    ``settle_s`` None: the database's default (``DEFAULT_SETTLE_S``)."""

    def __init__(self, sessions: sessionmaker[Session], *, interval_s: float = 2.0,
                 budget_s: float = PASS_BUDGET_S, settle_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic, lease: Lease | None = None):
        self.sessions = sessions
        self.settle_s = settle_of(sessions, settle_s)
        self.interval_s = interval_s
        self.budget_s = budget_s
        self.clock = clock
        settings = (sessions.kw.get("info") or {}).get("settings")
        self.lease = lease or Lease(sessions, LEASE, ttl_s=getattr(settings, "lease_ttl_s", DEFAULT_TTL_S))
        self._pending = True  # the first tick catches up with whatever was stored while no runner ran
        self._last = float("-inf")

    def __call__(self, finished: int) -> PassResult | None:
        if finished:
            self._pending = True
        idle_check = bool(CHECKS) and self.clock() - self._last >= CHECK_INTERVAL_S
        if not (self._pending or idle_check) or self.clock() - self._last < self.interval_s:
            return None
        self._last = self.clock()
        result = run_pass(self.sessions, budget_s=self.budget_s, settle_s=self.settle_s, clock=self.clock,
                          lease=self.lease)
        # changes left to settle (or left to another runner) are picked up by a later pass, whether or not
        # processing stores more
        left = bool(result.failed or result.unfinished or result.busy)
        if not left and self.settle_s:
            left = any(_waiting(self.sessions, handler, None) for handler in handlers())
        self._pending = left
        return result


__all__ = ["BATCH", "PASS_BUDGET_S", "LEASE", "DEFAULT_SETTLE_S", "HANDLER_MODULES", "HANDLERS", "DocumentChange",
           "Handler", "PassResult", "WorkflowTicker", "LeaseBusy", "CHECKS", "PROBES", "CHECK_INTERVAL_S", "periodic",
           "changes_query", "cutoff", "settle_of", "on_documents", "handlers", "run_batch", "run_pass"]
