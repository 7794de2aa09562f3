"""The surveillance handler: report cards → cases (linked through the MPI) → outbreak detection.

One runner handler (``disease.surveillance``) per batch of changed ``InfectiousDiseaseReport`` rows,
in the batch's transaction: the cases of the (person, disease) of each changed card, and of the
persons of any MPI merge or unmerge pending, are worked out again (``cases``), then the series whose
cases changed are judged and their incidents' alerts raised or updated (``outbreaks``).

A merge or unmerge changes no card, and the runner calls a handler only for changed documents: the
check ``disease.cases.mpi`` takes up the pending merges on every full pass too (after a processing tick
that finished messages, at least every ``runner.CHECK_INTERVAL_S`` on an idle hub, and in ``hie workflows
run``), so the cases follow the MPI at once, whether a card of the person ever arrives again or not.
The class 甲 alert is its own handler (``hub.workflows.class_a``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from ...mpi.models import PendingMerge
from ..models import Watermark
from ..runner import DocumentChange, on_documents, periodic
from . import cases, outbreaks

NAME = "disease.surveillance"
MERGES = "disease.cases.mpi"


@on_documents("InfectiousDiseaseReport", name=NAME)
def surveil(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Re-link the cases the changed cards (and MPI merges) touch, then judge the series they are in."""
    keys = cases.keys_of_documents(session, [change.document_row_id for change in changes])
    keys |= cases.keys_of_merges(session)[1]
    outbreaks.judge(session, cases.relink(session, keys, now), now)


@periodic(MERGES)
def follow_merges(session: Session, now: datetime) -> int:
    """Re-link the cases of the persons of the pending MPI merges and unmerges, judge their series; how many
    merges were taken up."""
    if not session.scalar(select(exists().where(PendingMerge.merge_id.is_not(None)))):
        return 0  # an idle pass: one indexed probe
    # the handler's watermark row first: one re-link of these cases at a time, as its batches hold it
    session.execute(update(Watermark).where(Watermark.name == NAME).values(name=Watermark.name))
    taken, keys = cases.keys_of_merges(session)
    outbreaks.judge(session, cases.relink(session, keys, now), now)
    return taken


__all__ = ["NAME", "MERGES", "surveil", "follow_merges"]
