"""The surveillance handler: report cards → cases (linked through the MPI) → outbreak detection.

One runner handler (``disease.surveillance``) per batch of changed ``InfectiousDiseaseReport`` rows,
in the batch's transaction: the cases of the (person, disease) of each changed card, and of the
persons of any MPI merge or unmerge pending, are worked out again (``cases``), then the series whose
cases changed are judged and their incidents' alerts raised or updated (``outbreaks``).
The class 甲 alert (``hub.workflows.class_a``) is judged here too, on the same cases, before outbreaks:
it counts cases, so it must see them linked.

A merge or unmerge changes no card, and the runner calls a handler only for changed documents: the
check ``disease.cases.mpi`` takes up the pending merges on every full pass too (after a processing tick
that finished messages, at least every ``runner.CHECK_INTERVAL_S`` on an idle hub, and in ``hie workflows
run``), so the cases follow the MPI at once, whether a card of the person ever arrives again or not.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from ...mpi.models import PendingMerge
from .. import class_a
from ..models import Watermark
from ..runner import DocumentChange, on_documents, periodic
from . import cases, outbreaks

NAME = "disease.surveillance"
MERGES = "disease.cases.mpi"


def _judge(session: Session, keys: set[tuple[int, str]], now: datetime, documents: Iterable[int] = ()) -> None:
    """Re-link the cases of ``keys``, then judge the series they touched: the class 甲 alert, then outbreaks."""
    touched = cases.relink(session, keys, now)
    class_a.judge(session, touched, now, document_rows=documents)
    outbreaks.judge(session, touched, now)


@on_documents("InfectiousDiseaseReport", name=NAME)
def surveil(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Re-link the cases the changed cards (and MPI merges) touch, then judge the series they are in."""
    documents = [change.document_row_id for change in changes]
    keys = cases.keys_of_documents(session, documents)
    keys |= cases.keys_of_merges(session)[1]
    _judge(session, keys, now, documents)


def merges_pending(session: Session, now: datetime) -> bool:
    """Whether an MPI merge or unmerge waits to be taken up (one indexed probe, read before any write)."""
    return bool(session.scalar(select(exists().where(PendingMerge.merge_id.is_not(None)))))


@periodic(MERGES, probe=merges_pending)
def follow_merges(session: Session, now: datetime) -> int:
    """Re-link the cases of the persons of the pending MPI merges and unmerges, judge their series; how many
    merges were taken up."""
    if not merges_pending(session, now):
        return 0  # another pass took them up meanwhile
    # the handler's watermark row first: one re-link of these cases at a time, as its batches hold it
    session.execute(update(Watermark).where(Watermark.name == NAME).values(name=Watermark.name))
    taken, keys = cases.keys_of_merges(session)
    _judge(session, keys, now)
    return taken


__all__ = ["NAME", "MERGES", "surveil", "follow_merges", "merges_pending"]
