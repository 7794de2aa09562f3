"""ETL runs: incremental (by watermark), backfill (by clinical date range), and their bookkeeping.

One run = read the selection from OLTP → pure transforms → idempotent load into the mart → record
the run and advance the watermarks in one OLTP transaction. The mart write happens before the
watermark moves, so a crash anywhere re-reads the same changes next time; the versioned mart
tables absorb the repeat. Each run's ``version`` is the time its reading started (µs), so a slow
older run can never overwrite what a newer run read later.

Watermarks (``etl_watermark``): ``documents`` and ``messages`` are the end of the last window
(UTC ISO time; the next window starts ``overlap`` earlier, which catches a transaction that
committed a little after its own timestamp); ``merges`` is the last ``mpi_merge.id`` applied. A
window ends at the horizon (``hub.store.horizon``: on PostgreSQL the oldest transaction still open),
so a chunk still open while a run reads is in the next run's window. Runs are dated, and versioned,
by the database's clock. Under a lease (``hub.store.lease.under_lease``) a run records its end only
if the lease is still its own (``etl.lease.lost``).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import islice
from typing import Callable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.store.db import transaction
from hub.store.horizon import horizon
from hub.store.lease import database_now, lease_of
from olap.backend import Backend
from olap.schema.migrate import rebuilt_at

from . import arrow_reader as reader
from . import dimensions, extract, load
from .facts import MESSAGE_FACT, SOURCES
from .errors import EtlError
from .models import EtlRun, EtlWatermark, RunKind, RunStatus
from .transform import Pseudonymizer, transform_facts, transform_messages

log = logging.getLogger("hie.etl")
DEFAULT_OVERLAP = timedelta(seconds=60)
_MIN_DATE, _MAX_DATE = pd.Timestamp("1970-01-02"), pd.Timestamp("2105-12-31")  # what ClickHouse Date holds
_RUN_LOCK = threading.Lock()  # one run at a time per process; versions keep concurrent processes exact

Progress = Callable[[str, int], None]  # (fact, rows written)


@dataclass
class RunResult:
    run_id: int
    kind: str
    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    per_fact: dict[str, dict[str, int]] = field(default_factory=dict)
    rollups: list[str] = field(default_factory=list)
    dimensions: dict[str, int] = field(default_factory=dict)
    watermark_from: str = ""
    watermark_to: str = ""
    seconds: float = 0.0


def _watermarks(session: Session, *, rebuilt: datetime | None = None) -> dict[str, str]:
    """The watermarks by feed; those of a run that started before the mart last rebuilt tables
    count as never set (what such a run loaded may have been dropped under it).

    The mart keeps the rebuild's time to the second: a run started in the same second counts as
    older (at worst one needless reload; never a fact left out)."""
    if rebuilt is None:
        return {row.feed: row.value for row in session.scalars(select(EtlWatermark))}
    fresh_from = rebuilt + timedelta(seconds=1)
    rows = session.execute(select(EtlWatermark.feed, EtlWatermark.value, EtlRun.started_at)
                           .join(EtlRun, EtlRun.id == EtlWatermark.run_id))
    return {feed: value for feed, value, started_at in rows if started_at >= fresh_from}


def _start(sessions: sessionmaker[Session], kind: str, now: datetime) -> int:
    with transaction(sessions) as session:
        run = EtlRun(kind=kind, status=RunStatus.RUNNING.value, started_at=now, rows_read=0, rows_written=0, rows_rejected=0,
                     watermark_from="", watermark_to="", detail="")
        session.add(run)
        session.flush()
        return run.id


def _database_now(sessions: sessionmaker[Session]) -> datetime:
    with sessions() as session:
        return database_now(session)


def _finish(sessions: sessionmaker[Session], result: RunResult, *, status: str, watermarks: dict[str, str],
            detail: dict) -> None:
    """Record the run's end and move the watermarks, in one transaction; a finished run under a lease
    (``hub.store.lease.under_lease``) records it only if the lease is still its own (else ``etl.lease.lost``)."""
    lease = lease_of(sessions) if status == RunStatus.FINISHED.value else None
    with transaction(sessions) as session:
        if lease is not None and not lease.fence(session):
            raise EtlError("etl.lease.lost", "another run took the mart's lease while this one ran: nothing "
                                             "recorded; the next run loads the same changes", lease=lease.name)
        now = database_now(session)
        run = session.get(EtlRun, result.run_id)
        run.status, run.finished_at = status, now
        run.rows_read, run.rows_written, run.rows_rejected = result.rows_read, result.rows_written, result.rows_rejected
        run.watermark_from, run.watermark_to = result.watermark_from, result.watermark_to
        run.detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        for feed, value in watermarks.items():
            row = session.get(EtlWatermark, feed)
            if row is None:
                session.add(EtlWatermark(feed=feed, value=value, run_id=result.run_id, updated_at=now))
            else:
                row.value, row.run_id, row.updated_at = value, result.run_id, now


def _finished(sessions: sessionmaker[Session], result: RunResult, *, watermarks: dict[str, str], detail: dict) -> None:
    """``_finish`` as finished; a run that lost its lease is recorded as failed (``etl.lease.lost``), its
    watermarks left where they were. What it wrote into the mart stays: the mart's rows are versioned by
    the time each run started reading, so the new holder's later run wins wherever both wrote."""
    try:
        _finish(sessions, result, status=RunStatus.FINISHED.value, watermarks=watermarks, detail=detail)
    except EtlError as error:
        log.warning("etl run %s lost the mart's lease before it finished: nothing recorded", result.run_id)
        _finish(sessions, result, status=RunStatus.FAILED.value, watermarks={},
                detail={"error": type(error).__name__, "code": error.code})
        raise


def _valid(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop rows whose date the mart cannot hold (counted as rejected, never silently wrapped)."""
    ok = frame["date"].notna() & (frame["date"] >= _MIN_DATE) & (frame["date"] <= _MAX_DATE)
    return frame[ok], int((~ok).sum())


# The biggest reads first (longest first keeps both readers busy to the end): every document is an
# exchange message (None), a lab report has several results, a prescription several lines.
_BIG_FIRST = ("fact_lab_test", "fact_medication", "fact_outpatient_visit")
_READ_ORDER: tuple[int | None, ...] = (
    None, *sorted(range(len(SOURCES)), key=lambda index: (
        _BIG_FIRST.index(SOURCES[index].fact) if SOURCES[index].fact in _BIG_FIRST else len(_BIG_FIRST), index)))

PROCESS_READER_MIN_DOCUMENTS = 20_000  # below this a spawned reader's start-up (~1-2 s) costs more than it saves


def _load(sessions, mart: Backend, pseudonymize: Pseudonymizer, result: RunResult, selection: extract.Selection,
          messages: tuple[str, dict], *, version: int, progress: Progress | None,
          persons: tuple[datetime | None, datetime] | None = None) -> None:
    loaded_at = pd.Timestamp(datetime.now(timezone.utc)).floor("s")
    touched = []  # (fact, date) of every row written, for the rollups
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        replaced = extract.replaced_documents(connection, selection)
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        big = bool(path) and path != ":memory:" and reader.available() and \
            extract.count_documents(connection, selection) >= PROCESS_READER_MIN_DOCUMENTS

    def prepare(index: int | None) -> tuple[str, int, pd.DataFrame]:
        """Read and transform one fact in a worker thread with its own connection (None: messages)."""
        with engine.connect() as own:
            if index is None:
                raw = extract.read_messages(own, messages)
                return MESSAGE_FACT, len(raw), transform_messages(raw, version=version, loaded_at=loaded_at)
            raw = extract.read_source(own, SOURCES[index], selection)
        return SOURCES[index].fact, len(raw), transform_facts(SOURCES[index], raw, pseudonymize=pseudonymize,
                                                              version=version, loaded_at=loaded_at)

    # The next facts are read and transformed while this one is written into the mart: in two reader
    # processes for big runs on SQLite (etl/arrow_reader.py), else in a thread (chDB's insert and SQLite's
    # own work run outside the GIL).
    if big:
        pool = reader.ProcessReader(path, selection, messages, key=pseudonymize.key, version=version,
                                    loaded_at=loaded_at)
        submit, close = pool.submit, pool.close
    else:
        threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="etl-read")
        submit, close = (lambda index: threads.submit(prepare, index)), threads.shutdown
    try:
        tasks = iter(_READ_ORDER)
        ahead = [submit(task) for task in islice(tasks, 3)]  # bounded: memory holds ~3 facts
        with engine.connect() as connection:  # the dimensions meanwhile, while the first facts are read
            result.dimensions = dimensions.refresh_static(connection, mart, today=loaded_at.date())
            if persons is not None:
                result.dimensions["dim_person"] = dimensions.refresh_persons(
                    connection, mart, pseudonymize, since=persons[0], until=persons[1], version=version)
        while ahead:  # written as they come: a small fact read later need not wait for a big one
            done = next(iter(wait(ahead, return_when=FIRST_COMPLETED).done))
            ahead.remove(done)
            fact, read, frame = done.result()
            ahead += [submit(task) for task in islice(tasks, 1)]
            frame, rejected = _valid(frame)
            gone = (load.tombstones(mart, fact, replaced, frame, version=version, loaded_at=loaded_at)
                    if fact != MESSAGE_FACT else pd.DataFrame())
            written = load.insert(mart, fact, [frame, gone])
            touched += [part[["date"]].assign(fact=fact) for part in (frame, gone) if not part.empty]
            _count(result, fact, read=read, written=written, rejected=rejected, progress=progress)
    finally:
        close()
    changed = frozenset(name for name, written in result.dimensions.items() if written)
    if touched or changed:
        result.rollups = load.refresh_rollups(mart, pd.concat(touched, ignore_index=True) if touched else
                                              pd.DataFrame(columns=["fact", "date"]), version=version,
                                              changed_dimensions=changed)


def _count(result: RunResult, fact: str, *, read: int, written: int, rejected: int, progress: Progress | None) -> None:
    result.per_fact[fact] = {"read": read, "written": written, "rejected": rejected}
    result.rows_read += read
    result.rows_written += written
    result.rows_rejected += rejected
    if progress:
        progress(fact, written)


def run_incremental(sessions: sessionmaker[Session], mart: Backend, pseudonymize: Pseudonymizer, *,
                    overlap: timedelta = DEFAULT_OVERLAP, progress: Progress | None = None) -> RunResult:
    """Load everything that changed since the last run (the first run loads everything)."""
    with _RUN_LOCK:
        started = time.perf_counter()
        with sessions() as session:  # the database's clock: every node dates runs and versions alike
            now = database_now(session)
            limit = horizon(session)
        # read up to the oldest transaction still open (a chunk dated earlier that commits later), or now
        end = now if limit is None else min(now, limit)
        version = int(now.timestamp() * 1_000_000)
        result = RunResult(run_id=_start(sessions, RunKind.INCREMENTAL.value, now), kind=RunKind.INCREMENTAL.value)
        rebuilt = rebuilt_at(mart)  # a schema version dropped and re-created facts: load everything again
        with sessions() as session:
            marks = _watermarks(session, rebuilt=rebuilt)
        last = datetime.fromisoformat(marks["documents"]) if "documents" in marks else None
        start = last - overlap if last else None
        with sessions.kw["bind"].connect() as connection:
            merge_id, persons = extract.merged_persons(connection, int(marks.get("merges", 0)))
            persons = tuple(sorted({*persons, *extract.case_persons(connection, start)}))
        last_messages = datetime.fromisoformat(marks["messages"]) if "messages" in marks else None
        message_start = last_messages - overlap if last_messages else None
        result.watermark_from = start.isoformat() if start else ""
        result.watermark_to = end.isoformat()
        try:
            _load(sessions, mart, pseudonymize, result, extract.changed_between(start, end, persons),
                  extract.messages_changed(message_start, end),
                  version=version, progress=progress, persons=(start, end))
        except Exception as error:
            _finish(sessions, result, status=RunStatus.FAILED.value, watermarks={},
                    detail={"error": type(error).__name__, "code": getattr(error, "code", "")})
            raise
        result.seconds = time.perf_counter() - started
        _finished(sessions, result,
                  watermarks={"documents": end.isoformat(), "messages": end.isoformat(), "merges": str(merge_id)},
                  detail={"facts": result.per_fact, "dimensions": result.dimensions, "merged_persons": len(persons),
                          "seconds": round(result.seconds, 3)})
        return result


def backfill(sessions: sessionmaker[Session], mart: Backend, pseudonymize: Pseudonymizer, *, start: date, end: date,
             progress: Progress | None = None) -> RunResult:
    """Reload the documents whose clinical time falls in [start, end] (local dates) or that have facts
    dated then in the mart (so facts corrected or cancelled out of the range are retracted), and the
    messages received then; watermarks do not move (incremental runs go on where they were)."""
    with _RUN_LOCK:
        started = time.perf_counter()
        now = _database_now(sessions)
        version = int(now.timestamp() * 1_000_000)
        china = timezone(timedelta(hours=8))
        low = datetime(start.year, start.month, start.day, tzinfo=china).astimezone(timezone.utc)
        high = datetime(end.year, end.month, end.day, tzinfo=china).astimezone(timezone.utc) + timedelta(days=1)
        result = RunResult(run_id=_start(sessions, RunKind.BACKFILL.value, now), kind=RunKind.BACKFILL.value,
                           watermark_from=start.isoformat(), watermark_to=end.isoformat())
        try:
            in_mart = load.documents_dated(mart, [source.fact for source in SOURCES], start, end)
            _load(sessions, mart, pseudonymize, result, extract.effective_between(low, high, in_mart),
                  extract.messages_received(low, high),
                  version=version, progress=progress)
        except Exception as error:
            _finish(sessions, result, status=RunStatus.FAILED.value, watermarks={},
                    detail={"error": type(error).__name__, "code": getattr(error, "code", "")})
            raise
        result.seconds = time.perf_counter() - started
        _finished(sessions, result, watermarks={},
                  detail={"facts": result.per_fact, "seconds": round(result.seconds, 3)})
        return result


def status(sessions: sessionmaker[Session], *, last: int = 10) -> dict:
    """The watermarks and the latest runs (newest first)."""
    with sessions() as session:
        runs = session.scalars(select(EtlRun).order_by(EtlRun.id.desc()).limit(last)).all()
        return {"watermarks": _watermarks(session),
                "runs": [{"id": run.id, "kind": run.kind, "status": run.status, "started_at": run.started_at.isoformat(),
                          "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                          "rows_read": run.rows_read, "rows_written": run.rows_written,
                          "rows_rejected": run.rows_rejected, "watermark_from": run.watermark_from,
                          "watermark_to": run.watermark_to} for run in runs]}


__all__ = ["RunResult", "run_incremental", "backfill", "status", "DEFAULT_OVERLAP"]
