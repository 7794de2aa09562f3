"""``database``: rows the agent read from the clinic's database, mapped with a ``mapping.RowMap``.

The adapter is pure mapping: the agent owns the connection and the incremental watermark. So
that every agent reads the same way, ``source_query`` builds the statement from the options and
``next_watermark`` says where the next run starts:

- ``table`` (with optional ``schema``) or ``query`` (SQL text that uses ``:watermark``);
- ``watermark``: the column that grows with every change (an update time or a row version);
- ``initial_watermark``: the value the first run starts after (``table``: none = every row);
- ``batch_size``: rows per run (``table`` only; default 1000), exceeded only to finish a tie.

A table run reads ``watermark > :watermark`` up to the watermark value of its ``batch_size``-th row,
*including every row with that value*, so the next run (``>`` the highest value read) neither skips
the rest of a tie nor reads a row twice. Rows sharing a key form one document, so all rows of one
key should share a watermark value (they are written together in practice). A row written later
with a watermark value not above one already read is not seen: the column must grow with each
commit (a row version, or an update time set by the database).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import bindparam, column, func, literal_column, select, table, text
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import NullType

from .base import SourceContext, SourceItem, source
from .mapping import map_rows
from .row_map import RowMap


@source("database")
def database(payload: Iterable[Mapping[str, Any]], context: SourceContext) -> Iterator[SourceItem]:
    options = context.options
    if options.get("watermark") and "version" not in dict(options.get("fields", {})):
        # The hub ignores a second document with the same id and version as stale: without a version
        # column, a corrected row would be acknowledged and dropped. The watermark grows with every
        # change, so it is the version (a counter as is, a change time as seconds since 2000).
        options = {**options, "fields": {**dict(options.get("fields", {})), "version": options["watermark"]}}
    row_map = RowMap.from_options(options, prefix="source.database")
    return map_rows(payload, row_map, context)


def source_query(options: Mapping[str, Any], watermark: Any = None) -> Executable:
    """The statement that reads rows changed after ``watermark`` (None: the configured start)."""
    key = options.get("watermark")
    if not key or ("table" in options) == ("query" in options):
        raise ValueError("database options: give watermark and exactly one of table / query")
    start = watermark if watermark is not None else options.get("initial_watermark")
    if "query" in options:
        if ":watermark" not in options["query"]:
            raise ValueError("database options: query must compare the watermark column with :watermark")
        return text(options["query"]).bindparams(_bound(start))
    source = table(options["table"], column(key), schema=options.get("schema"))
    mark = source.c[key]
    after = [] if start is None else [mark > _bound(start)]
    # The batch ends at the watermark value of its batch_size-th row, and every row with that value
    # is read: a "limit" alone could cut a tie in two, and the next run ("> watermark") would skip
    # the rest. So a run may return more than batch_size rows, never fewer than the whole tie.
    window = select(mark.label("mark")).where(*after).order_by(mark).limit(int(options.get("batch_size", 1000)))
    last = select(func.max(window.subquery("batch_window").c.mark)).scalar_subquery()
    return select(literal_column("*")).select_from(source).where(*after, mark <= last).order_by(mark)


def _bound(start: Any) -> BindParameter:
    """The watermark parameter. Text is sent untyped, so that the database reads it as the column's
    type (a configured ``"2026-01-01"`` against a PostgreSQL timestamp); other values keep theirs."""
    return bindparam("watermark", start, type_=NullType() if isinstance(start, str) else None)


def next_watermark(rows: Iterable[Mapping[str, Any]], options: Mapping[str, Any], current: Any = None) -> Any:
    """The highest watermark value among ``rows`` (``current`` when there are none)."""
    values = [row[options["watermark"]] for row in rows if row.get(options["watermark"]) is not None]
    return max(values, default=current)


__all__ = ["database", "source_query", "next_watermark"]
