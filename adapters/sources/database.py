"""``database``: rows the agent read from the clinic's database, mapped with a ``mapping.RowMap``.

The adapter is pure mapping: the agent owns the connection and the incremental watermark. So
that every agent reads the same way, ``source_query`` builds the statement from the options and
``next_watermark`` says where the next run starts:

- ``table`` (with optional ``schema``) or ``query`` (SQL text that uses ``:watermark``);
- ``watermark``: the column that grows with every change (an update time or a row version);
- ``initial_watermark``: the value the first run starts after (``table``: none = every row);
- ``batch_size``: most rows per run (``table`` only; default 1000).

Rows must come ordered by the watermark (``source_query`` does so for tables), so that a run cut
short by ``batch_size`` resumes exactly where it stopped. Rows sharing a key form one document, so
all rows of one key should share a watermark value (they are written together in practice).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import bindparam, column, literal_column, select, table, text
from sqlalchemy.sql import Executable

from .base import SourceContext, SourceItem, source
from .mapping import RowMap, map_rows


@source("database")
def database(payload: Iterable[Mapping[str, Any]], context: SourceContext) -> Iterator[SourceItem]:
    row_map = RowMap.from_options(context.options, prefix="source.database")
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
        return text(options["query"]).bindparams(bindparam("watermark", start))
    statement = select(literal_column("*")).select_from(table(options["table"], schema=options.get("schema")))
    if start is not None:
        statement = statement.where(column(key) > bindparam("watermark", start))
    return statement.order_by(column(key)).limit(int(options.get("batch_size", 1000)))


def next_watermark(rows: Iterable[Mapping[str, Any]], options: Mapping[str, Any], current: Any = None) -> Any:
    """The highest watermark value among ``rows`` (``current`` when there are none)."""
    values = [row[options["watermark"]] for row in rows if row.get(options["watermark"]) is not None]
    return max(values, default=current)


__all__ = ["database", "source_query", "next_watermark"]
