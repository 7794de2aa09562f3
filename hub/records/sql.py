"""The health-record store's hand-written SQL (the processor's hot path, through ``RawSql``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ..store.rawsql import RawSql, chunks, placeholders

DOCUMENT_COLUMNS = ("institution", "id_root", "document_id", "recorded_at", "version", "document_type",
                    "schema_version", "effective_time", "practitioner_code", "person_id", "patient_record_id",
                    "message_row_id", "updated_at", "status")
_KEY = 3  # the first columns are the document's key: (institution, id_root, document_id)
_DOCUMENTS_PER_INSERT = 500  # 14 parameters a row: far below SQLite's and psycopg's limits
_UPDATE_DOCUMENT = ("UPDATE record_document SET " + ", ".join(f"{c} = ?" for c in DOCUMENT_COLUMNS[_KEY + 1:])
                    + " WHERE id = ?")
_INSERT_DOCUMENT_ROW = f"({placeholders(len(DOCUMENT_COLUMNS))})"
_ROW_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


class StoredDocument(NamedTuple):
    id: int
    version: int
    status: str


def stored_documents(sql: RawSql, keys: list[tuple[str, str, str]]) -> Iterator[tuple[tuple, StoredDocument]]:
    """The stored documents among these (institution, id root, document id) keys, each with its key."""
    for part in chunks(keys, 100):  # an OR of keys: one unique-index probe each
        condition = " OR ".join(["(institution = ? AND id_root = ? AND document_id = ?)"] * len(part))
        for institution, id_root, document_id, ref, version, status in sql.rows(
                f"SELECT institution, id_root, document_id, id, version, status FROM record_document WHERE {condition}",
                tuple(value for key in part for value in key)):
            yield (institution, id_root, document_id), StoredDocument(ref, version, status)


def update_documents(sql: RawSql, rows: list[tuple]) -> None:
    """Rewrite stored documents in place: each row holds the columns after ``recorded_at``, then the id."""
    sql.many(_UPDATE_DOCUMENT, rows)


def insert_documents(sql: RawSql, rows: list[tuple]) -> dict[tuple, int]:
    """Insert document rows (``DOCUMENT_COLUMNS``); their new ids by key, in a statement per chunk."""
    ids = {}
    for part in chunks(rows, _DOCUMENTS_PER_INSERT):
        for ref, *key in sql.rows(f"INSERT INTO record_document ({', '.join(DOCUMENT_COLUMNS)}) VALUES "
                                  f"{', '.join([_INSERT_DOCUMENT_ROW] * len(part))} "
                                  "RETURNING id, institution, id_root, document_id",
                                  tuple(value for row in part for value in row)):
            ids[tuple(key)] = ref
    return ids


def insert_rows(sql: RawSql, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert normalized rows into one record table."""
    statement = _ROW_SQL.get((table, columns))
    if statement is None:
        statement = _ROW_SQL[(table, columns)] = (f"INSERT INTO {table} ({', '.join(columns)}) "
                                                  f"VALUES ({placeholders(len(columns))})")
    sql.many(statement, rows)


__all__ = ["DOCUMENT_COLUMNS", "StoredDocument", "stored_documents", "update_documents", "insert_documents",
           "insert_rows"]
