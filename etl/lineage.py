"""From a mart fact back to the OLTP row and the signed message behind it (``hie lineage``).

A fact key is ``<OLTP table>:<row id>`` (``inbox_message:<id>`` for exchange facts). The answer
names only identifiers and digests — institution, document id and version, message id, the
SHA-256 of the document and of the signed envelope as received — never patient data, so it can be
shown to analysts; whoever holds the right can then fetch the signed bytes from the inbox.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.exchange.models import Envelope, Message
from hub.records.models import ROW_MODELS, RecordDocument

from .errors import LineageError
from .facts import SOURCES

_FACT_TABLES = {source.oltp_table for source in SOURCES} | {"inbox_message"}
MAX_ROW_ID = 2**63 - 1  # a BIGINT: a larger row id names no row and overflows the database driver


def parse_fact_key(fact_key: str) -> tuple[str, int]:
    table, _, row = fact_key.partition(":")
    if table not in _FACT_TABLES or not (row.isascii() and row.isdigit() and 0 < int(row) <= MAX_ROW_ID):
        raise LineageError("etl.lineage.key_invalid", "a fact key is <table>:<row id>, e.g. record_encounter:42")
    return table, int(row)


def lineage(session: Session, fact_key: str) -> dict:
    """What the fact came from; ``found`` is false when the OLTP row no longer exists (retracted)."""
    table, row_id = parse_fact_key(fact_key)
    answer: dict = {"fact_key": fact_key, "oltp_table": table, "oltp_row_id": row_id, "found": False}
    if table == "inbox_message":
        message_row_id = row_id
        document = session.scalar(select(RecordDocument).where(RecordDocument.message_row_id == row_id))
    elif table == RecordDocument.__tablename__:  # a document-level fact (fact_document_quality)
        document = session.get(RecordDocument, row_id)
        if document is None:
            return answer
        message_row_id = document.message_row_id
        answer["institution"] = document.institution
    else:
        model = ROW_MODELS[table]
        row = session.get(model, row_id)
        if row is None:
            return answer
        document = session.get(RecordDocument, row.document_ref)
        message_row_id = document.message_row_id
        answer["institution"] = row.institution
    message = session.get(Message, message_row_id)
    if message is None:
        return answer
    envelope = session.get(Envelope, message.envelope_id)
    answer.update(found=True, message={
        "row_id": message.id, "member": message.member, "message_id": message.message_id,
        "received_at": message.received_at.isoformat(), "status": message.status,
        "error_code": message.error_code, "document_sha256": message.document_sha256,
        "envelope_sha256": envelope.sha256 if envelope else None, "item_index": message.item_index})
    if document is not None:
        answer["document"] = {"id": document.id, "institution": document.institution, "root": document.id_root,
                              "document_id": document.document_id, "version": document.version,
                              "type": document.document_type, "status": document.status,
                              "effective_time": document.effective_time.isoformat()}
    return answer


__all__ = ["lineage", "parse_fact_key"]
