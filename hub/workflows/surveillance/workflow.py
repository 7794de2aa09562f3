"""The surveillance handler: report cards → cases (linked through the MPI) → outbreak detection.

One runner handler (``disease.surveillance``) per batch of changed ``InfectiousDiseaseReport`` rows,
in the batch's transaction: the cases of the (person, disease) of each changed card, and of the
persons of any MPI merge or unmerge since the last batch, are worked out again (``cases``), then the
series whose cases changed are judged and their incidents' alerts raised or updated (``outbreaks``).
The class 甲 alert (``hub.workflows.class_a``) is judged here too, on the same cases, before outbreaks:
it counts cases, so it must see them linked.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .. import class_a
from ..runner import DocumentChange, on_documents
from . import cases, outbreaks

NAME = "disease.surveillance"


@on_documents("InfectiousDiseaseReport", name=NAME)
def surveil(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Re-link the cases the changed cards (and MPI merges) touch, then judge the series they are in."""
    documents = [change.document_row_id for change in changes]
    keys = cases.keys_of_documents(session, documents)
    keys |= cases.keys_of_merges(session, now)
    touched = cases.relink(session, keys, now)
    class_a.judge(session, touched, now, document_rows=documents)
    outbreaks.judge(session, touched, now)


__all__ = ["NAME", "surveil"]
