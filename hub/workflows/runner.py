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
"""
from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from ..errors import failure_summary
from ..records.models import DocumentStatus, RecordDocument
from ..store.db import transaction
from .models import Watermark

log = logging.getLogger(__name__)
BATCH = 200  # changes per handler transaction (a few ms of the write lock)
HANDLER_MODULES = ("hub.workflows.referral.handler", "hub.workflows.drugs.anomalies",
                   "hub.workflows.surveillance.workflow")  # the class 甲 alert is judged in the last one
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


def run_batch(sessions: sessionmaker[Session], handler: Handler, *, limit: int = BATCH, settle_s: float = 0.0) -> int:
    """One batch of ``handler`` in one transaction with its watermark's advance; how many changes.

    ``settle_s``: leave changes younger than this for a later pass. With several processors on one
    database, a processing transaction may commit rows dated before rows another has committed and a
    pass has already read; a settle time longer than a processing transaction lets none be skipped.
    """
    now = utcnow()
    with transaction(sessions) as session:
        mark = _hold(session, handler.name, now)
        changes = _changes(session, handler, mark, limit, now - timedelta(seconds=settle_s) if settle_s else None)
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

    @property
    def total(self) -> int:
        return sum(self.changes.values())


# Checks that depend on the clock, not on a document (an overdue referral step): name → check(session, now) →
# how many things it found; run in their own transaction after the handlers of a full pass, and by the
# ticker at least every CHECK_INTERVAL_S even without changes.
CHECKS: dict[str, Callable[[Session, datetime], int]] = {}
CHECK_INTERVAL_S = 60.0


def periodic(name: str) -> Callable:
    """Register the decorated ``check(session, now) -> int`` to run on every full pass."""
    def register(function):
        CHECKS[name] = function
        return function

    return register


def _run_checks(sessions: sessionmaker[Session], result: "PassResult") -> None:
    for name, check in sorted(CHECKS.items()):
        try:
            with transaction(sessions) as session:
                result.changes[name] = check(session, utcnow())
        except Exception as error:  # rolled back: tried again on the next pass
            log.error("workflow check %s failed: %s", name, failure_summary(error))
            result.failed.append(name)


def run_pass(sessions: sessionmaker[Session], selected: Iterable[Handler] | None = None, *,
             limit: int = BATCH, budget_s: float | None = None, settle_s: float = 0.0,
             clock: Callable[[], float] = time.monotonic) -> PassResult:
    """Every handler, batch after batch, until each has caught up (or ``budget_s`` is spent: the rest is
    for the next pass); a failing handler is logged and skipped."""
    result = PassResult()
    deadline = None if budget_s is None else clock() + budget_s
    for handler in (handlers() if selected is None else selected):
        done = 0
        try:
            while True:
                if deadline is not None and clock() >= deadline:
                    result.unfinished.append(handler.name)
                    break
                count = run_batch(sessions, handler, limit=limit, settle_s=settle_s)
                done += count
                if count < limit:
                    break
        except IntegrityError:  # another runner created the watermark first: its next pass goes on
            result.failed.append(handler.name)
        except Exception as error:  # the batch rolled back: retried on the next pass
            log.error("workflow handler %s failed: %s", handler.name, failure_summary(error))
            result.failed.append(handler.name)
        result.changes[handler.name] = done
    if selected is None:
        _run_checks(sessions, result)
    return result


PASS_BUDGET_S = 5.0  # a pass in the processor's thread hands back to processing after this long


class WorkflowTicker:
    """Called after each processing tick with how many messages it finished: runs a pass when there
    were changes (or at start, to catch up), at most every ``interval_s`` seconds, for at most
    ``budget_s`` (a catch-up over a bulk load goes on at the next ticks, processing in between)."""

    def __init__(self, sessions: sessionmaker[Session], *, interval_s: float = 2.0,
                 budget_s: float = PASS_BUDGET_S, settle_s: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.sessions = sessions
        self.settle_s = settle_s
        self.interval_s = interval_s
        self.budget_s = budget_s
        self.clock = clock
        self._pending = True  # the first tick catches up with whatever was stored while no runner ran
        self._last = float("-inf")

    def __call__(self, finished: int) -> PassResult | None:
        if finished:
            self._pending = True
        idle_check = bool(CHECKS) and self.clock() - self._last >= CHECK_INTERVAL_S
        if not (self._pending or idle_check) or self.clock() - self._last < self.interval_s:
            return None
        self._last = self.clock()
        result = run_pass(self.sessions, budget_s=self.budget_s, settle_s=self.settle_s, clock=self.clock)
        # changes left to settle are picked up by a later pass, whether or not processing stores more
        self._pending = bool(result.failed or result.unfinished or self.settle_s)
        return result


__all__ = ["BATCH", "PASS_BUDGET_S", "HANDLER_MODULES", "HANDLERS", "DocumentChange", "Handler", "PassResult",
           "WorkflowTicker", "CHECKS", "CHECK_INTERVAL_S", "periodic", "changes_query", "on_documents", "handlers",
           "run_batch", "run_pass"]
