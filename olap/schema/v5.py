"""Mart schema version 5: a fact's lineage columns name row ids as row ids.

``source_row_id`` (the OLTP row), ``document_row_id`` (``record_document.id``) and
``message_row_id`` (``inbox_message.id``, the signed message) were ``source_id``, ``document_id``
and ``message_id``: in the hub those names mean a member's own ids (its document id, its
MessageID). The facts are rebuilt (``REBUILD``): a mart built before this version has them
dropped and created anew, and the ETL reloads them from the store on its next run.
"""
from __future__ import annotations

from dataclasses import replace

from . import v1
from .model import Column, Table

VERSION = 5
DESCRIPTION = "fact lineage columns renamed: source_row_id, document_row_id, message_row_id (facts rebuilt)"

LINEAGE = {
    "source_id": Column("source_row_id", "UInt64", "OLTP row id (the fact key's number)"),
    "document_id": Column("document_row_id", "UInt64", "record_document.id"),
    "message_id": Column("message_row_id", "UInt64", "inbox_message.id: the signed message behind the fact"),
}


def _renamed(table: Table) -> Table:
    return replace(table, columns=tuple(LINEAGE.get(column.name, column) for column in table.columns),
                   comment=table.comment.replace("document_id groups", "document_row_id groups"))


FACTS = tuple(_renamed(table) for table in v1.FACTS)
TABLES = FACTS
REBUILD = tuple(table.name for table in FACTS)
