"""Read what changed in the OLTP store: the selections a run loads, and the rows behind them.

A ``Selection`` is the WHERE clause every ``FactSource`` is read with, so one run reads a
consistent set: documents whose ``updated_at`` moved into the run's window (new, replaced,
cancelled), rows of persons touched by an MPI merge or unmerge since the last run, or, for a
backfill, documents whose clinical time falls in a date range. The inbox has its own window
(every message counts in exchange health, normalized or not).

Datetimes are bound through the store's ``UTCDateTime`` type, so SQLite compares them in the
exact text format it stored them in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from hub.store.models import UTCDateTime

from .facts import MESSAGE_SELECT, FactSource

_TIME = UTCDateTime()


@dataclass(frozen=True)
class Selection:
    """Which OLTP rows a run reads (``where`` uses ``d.`` = record_document and ``r.`` = the row)."""

    where: str
    params: dict = field(default_factory=dict)
    person_ids: tuple[int, ...] = ()  # persons whose rows are re-read whatever their document's time
    changed: str = ""  # the window over ``{column}``, for the sources with a ``changed_also`` column

    def for_source(self, source: FactSource) -> tuple[str, dict]:
        where = self.where
        if self.changed and source.changed_also:
            where = f"({where}) OR ({self.changed.format(column=source.changed_also)})"
        if self.person_ids and source.person:
            ids = ", ".join(str(int(pid)) for pid in self.person_ids)
            where = f"({where}) OR r.person_id IN ({ids})"
        return where, self.params

    def for_extras(self) -> tuple[str, dict]:
        """Per-document aggregates: the documents of the selected rows (persons → their documents)."""
        where = self.where
        if self.person_ids:
            ids = ", ".join(str(int(pid)) for pid in self.person_ids)
            where = f"({where}) OR x.person_id IN ({ids})"
        return where, self.params


def changed_between(start: datetime | None, end: datetime, person_ids: tuple[int, ...] = ()) -> Selection:
    window = "{column} <= :end" if start is None else "{column} > :start AND {column} <= :end"
    params = {"end": end} if start is None else {"start": start, "end": end}
    return Selection(window.format(column="d.updated_at"), params, person_ids, changed=window)


def effective_between(start: datetime, end: datetime, document_row_ids: tuple[int, ...] = ()) -> Selection:
    """Documents whose clinical time falls in [start, end), and ``document_row_ids`` (those with facts
    in the mart's range: a document corrected or cancelled out of the range must leave it too)."""
    where = "d.effective_time >= :start AND d.effective_time < :end"
    if document_row_ids:
        where = f"({where}) OR d.id IN ({', '.join(str(int(i)) for i in document_row_ids)})"
    return Selection(where, {"start": start, "end": end})


def _query(connection: Connection, sql: str, params: dict) -> pd.DataFrame:
    """Rows as a frame, from the driver's plain tuples (no SQLAlchemy Row objects).

    (ADBC's SQLite driver reads ~4x faster into Arrow, but it links its own copy of SQLite: two
    copies in one process break SQLite's POSIX locks — measured here as stale reads and then
    "disk I/O error" on the hub's own connection. Not worth a corrupted store.)
    """
    statement = text(sql)
    if params:
        statement = statement.bindparams(*(bindparam(name, type_=_TIME) for name in params))
    result = connection.execute(statement, params)
    columns = list(result.keys())
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    if not rows:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    return pd.DataFrame.from_records(rows, columns=columns)  # measured fastest of the tuple → frame paths


Query = Callable[[str, dict], pd.DataFrame]


def read_source(connection: Connection | None, source: FactSource, selection: Selection, *,
                query: Query | None = None) -> pd.DataFrame:
    """The rows of ``source`` in ``selection``, with its per-document extras merged in.

    ``query`` runs one SQL text with its parameters (default: through ``connection``); the
    separate reader processes pass their own (``etl.arrow_reader``).
    """
    run = query or (lambda sql, params: _query(connection, sql, params))
    where, params = selection.for_source(source)
    rows = run(source.select(where), params)
    extra_where, extra_params = selection.for_extras()
    for extra in source.extra_selects(extra_where):
        if rows.empty:
            break
        extras = run(extra, extra_params)
        rows = rows.merge(extras, on="document_row_id", how="left") if not extras.empty else rows.assign(
            **{column: None for column in extras.columns if column != "document_row_id"})
    return rows


def messages_changed(start: datetime | None, end: datetime) -> tuple[str, dict]:
    """The inbox window of an incremental run (WHERE over ``m`` = inbox_message, and its parameters)."""
    if start is None:
        return "m.updated_at <= :end", {"end": end}
    return "m.updated_at > :start AND m.updated_at <= :end", {"start": start, "end": end}


def messages_received(start: datetime, end: datetime) -> tuple[str, dict]:
    """The inbox window of a backfill: messages received in [start, end)."""
    return "m.received_at >= :start AND m.received_at < :end", {"start": start, "end": end}


def read_messages(connection: Connection, window: tuple[str, dict]) -> pd.DataFrame:
    where, params = window
    return _query(connection, MESSAGE_SELECT.format(where=where), params)


def count_documents(connection: Connection, selection: Selection) -> int:
    """How many documents a selection covers (decides whether a run reads in a separate process)."""
    sql = "SELECT COUNT(*) AS n FROM record_document d WHERE " + selection.where
    return int(_query(connection, sql, selection.params)["n"].iloc[0])


def replaced_documents(connection: Connection, selection: Selection) -> list[int]:
    """Documents of the selection that may have facts loaded from an earlier version or before a
    cancellation: their old fact keys must be retracted (first versions never need it)."""
    sql = ("SELECT d.id FROM record_document d WHERE (" + selection.where + ") "
           "AND (d.updated_at > d.recorded_at OR d.status = 'cancelled')")
    return [int(value) for value in _query(connection, sql, selection.params)["id"]]


def case_persons(connection: Connection, start: datetime | None) -> tuple[int, ...]:
    """Persons whose disease cases (the surveillance workflow's) changed after ``start``: their cards are
    re-read, a card's case (and whether it is the case's first) having changed without the card."""
    if start is None:
        return ()  # a first run reads every row
    frame = _query(connection, "SELECT DISTINCT person_id FROM workflow_disease_case WHERE updated_at > :start",
                   {"start": start})
    return tuple(sorted(int(person) for person in frame["person_id"]))


def merged_persons(connection: Connection, after_id: int) -> tuple[int, tuple[int, ...]]:
    """(newest merge id, persons on either side of every merge/unmerge after ``after_id``)."""
    frame = _query(connection, f"SELECT id, survivor_id, retired_id FROM mpi_merge WHERE id > {int(after_id)}", {})
    if frame.empty:
        return after_id, ()
    persons = sorted(set(frame["survivor_id"].astype(int)) | set(frame["retired_id"].astype(int)))
    return int(frame["id"].max()), tuple(persons)


__all__ = ["Selection", "changed_between", "effective_between", "read_source", "messages_changed",
           "messages_received", "read_messages", "count_documents", "replaced_documents", "merged_persons",
           "case_persons"]
