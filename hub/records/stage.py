"""The processing stage that turns accepted documents into health records (``hub.pipeline.Stage``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from protocol.errors import HubError
from protocol.findings import Finding

from .. import mpi
from ..pipeline import PendingMessage, Stage
from .store import NormalizedMessage, Outcome, prepare_all, store_prepared


class RecordsStage(Stage):
    """Normalize documents into the health-record store.

    ``prepare`` (parse, validate, normalize: most of the work) runs before the write transaction,
    so the database's write lock is held only for the master patient index and the inserts.
    """

    def prepare(self, messages: list[PendingMessage]) -> dict:
        return prepare_all(messages)

    def apply(self, session: Session, messages: list[PendingMessage], now: datetime, prepared: dict) -> dict[int, HubError]:
        return store_prepared(session, messages, prepared, now=now).errors

    def lock_keys(self, prepared: dict) -> set[str]:
        """Each document's key (and the key of the one it cancels), so that two versions of a document
        are stored one after the other; and its patient's blocking keys (``hub.mpi.locks``)."""
        items = [item for item in prepared.values() if isinstance(item, NormalizedMessage)]
        keys = {f"record.document:{(item.header.institution, *key)!r}" for item in items
                for key in ((item.header.id_root, item.header.document_id), item.normalized.cancels) if key}
        return keys | mpi.lock_keys((item.header.institution, item.header.patient) for item in items
                                    if item.header.patient is not None)

    def findings(self, prepared: dict) -> dict[int, list[Finding]]:
        """The findings of the documents stored (a stale version or a retracted one reports none)."""
        return {row_id: item.findings for row_id, item in prepared.items()
                if isinstance(item, NormalizedMessage) and item.findings and not item.retracted
                and item.outcome in (Outcome.STORED, Outcome.REPLACED)}


__all__ = ["RecordsStage"]
