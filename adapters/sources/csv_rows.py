"""``csv``: a CSV export of the clinic's system, mapped row by row with a ``mapping.RowMap``.

Options: the row map (``document``, ``key``, ``fields``, ``timezone``; see docs/adapters.md) plus
``encoding`` (``utf-8`` by default, a BOM is accepted; ``gb18030`` for exports from Chinese
Windows systems) and ``delimiter`` (``,``). The whole file is decoded first: a file that is not
valid in the configured encoding is one quarantined item, never a half-read file.
"""
from __future__ import annotations

import csv
import hashlib
import io
from typing import Iterator

from .base import Quarantine, SourceContext, SourceItem, source
from .mapping import map_rows
from .row_map import RowMap

_ENCODINGS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030",
              "gbk": "gb18030", "gb2312": "gb18030"}


@source("csv")
def csv_rows(payload: bytes, context: SourceContext) -> Iterator[SourceItem]:
    row_map = RowMap.from_options(context.options, prefix="source.csv")
    encoding = _ENCODINGS.get(str(context.options.get("encoding", "utf-8")).lower())
    if encoding is None:
        raise ValueError("csv options: encoding must be utf-8 or gb18030")
    file_key = "sha256:" + hashlib.sha256(payload).hexdigest()
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError:
        yield SourceItem(key=file_key, problem=Quarantine(
            "source.csv.encoding.invalid", "file bytes are not valid in the configured encoding", "encoding"))
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=context.options.get("delimiter", ","))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    if set(row_map.key) - set(header):
        # Without the key column no row has a stable identity: report the file once. Other absent
        # columns are reported on each row (source.csv.column.missing) by the row map.
        yield SourceItem(key=file_key, problem=Quarantine(
            "source.csv.column.missing", "a key column is absent from the header", "key"))
        return
    try:
        rows = list(reader)  # the text is in memory already; a broken file is one quarantine, not half a file
    except csv.Error:  # e.g. a cell beyond the csv module's field limit
        yield SourceItem(key=file_key, problem=Quarantine(
            "source.csv.malformed", "the file is not a readable CSV export", ""))
        return
    yield from map_rows(rows, row_map, context)
