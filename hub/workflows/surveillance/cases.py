"""Cases, not cards: the report cards of one person and disease, from any institution, are one case.

Cards are linked through the MPI's person (``record_disease_report.person_id``, re-pointed by a merge
or an unmerge). A person's cards of one disease, in onset order, form one case until a card's onset
falls more than the disease's episode window (``EPISODE_DAYS``; ``DEFAULT_EPISODE_DAYS`` for the
others; None: one case for life) after the case's first onset: that card opens a new case.

Cases are derived, never edited by hand: whenever a card of a (person, disease) changes (a new card,
a new version, a cancellation) or a merge or unmerge touches the person, the cases of that person and
disease are worked out again from the current cards (``relink``). A merge or unmerge is taken up from
the MPI's queue ``mpi_merge_pending`` (``keys_of_merges``), which the merge writes in its own transaction:
hub.mpi knows nothing of the workflows, and a crash between the merge and the re-link loses nothing.
A case keeps its row id while it keeps a card, so its membership (``workflow_disease_case_card``) and the
cube's case key stay stable.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ...mpi.models import MergeRecord, PendingMerge
from ...records.models import DiseaseReport, DocumentStatus, RecordDocument
from .models import CaseCard, DiseaseCase

# Days after a case's first onset within which another card of the same person and disease is the same
# case (a new case only after them). None: the infection is for life (or its reports are follow-ups of
# one illness): every card of the person is one case. Codes: schemas/codes/notifiable-diseases.csv.
DEFAULT_EPISODE_DAYS = 30
EPISODE_DAYS: dict[str, int | None] = {
    "202": None,    # 艾滋病 / HIV: infected for life
    "20302": None,  # 乙型肝炎: reported once; a chronic carrier's later cards are the same case
    "20303": None,  # 丙型肝炎: likewise
    "20304": None,  # 丁型肝炎
    "206": None,    # 麻疹: immunity for life, a second card is the same illness
    "305": None,    # 麻风病: a chronic disease
    "213": 365,     # 肺结核: a treatment course is 6-12 months; a new episode after a year
    "222": 365,     # 梅毒: re-infection possible, follow-up cards within the year are the same case
    "221": 90,      # 淋病
    "225": 60,      # 疟疾: relapses within two months are the same case
}

Series = tuple[str, str]  # (disease, district): one count series of outbreak detection


def episode_days(disease: str) -> int | None:
    """The episode window of ``disease`` (None: one case for life)."""
    return EPISODE_DAYS.get(disease, DEFAULT_EPISODE_DAYS)


@dataclass(frozen=True)
class Card:
    document_row_id: int
    onset: date
    diagnosis: date
    reported_at: datetime
    division: str
    institution: str


def episodes(cards: Iterable[Card], window: int | None) -> list[list[Card]]:
    """Cards of one person and disease grouped into cases (pure): onset order, a new case once a card's
    onset is more than ``window`` days after the current case's first onset."""
    found: list[list[Card]] = []
    for card in sorted(cards, key=lambda c: (c.onset, c.diagnosis, c.document_row_id)):
        if found and (window is None or (card.onset - found[-1][0].onset).days <= window):
            found[-1].append(card)
        else:
            found.append([card])
    return found


def _cards(session: Session, person_id: int, disease: str) -> list[Card]:
    rows = session.execute(
        select(DiseaseReport.document_ref, DiseaseReport.onset_date, DiseaseReport.diagnosis_date,
               DiseaseReport.reported_at, DiseaseReport.division, DiseaseReport.institution)
        .join(RecordDocument, RecordDocument.id == DiseaseReport.document_ref)
        .where(DiseaseReport.person_id == person_id, DiseaseReport.disease_code == disease,
               RecordDocument.status == DocumentStatus.CURRENT.value))
    return [Card(*row) for row in rows]


def _relink_one(session: Session, person_id: int, disease: str, now: datetime) -> set[Series]:
    """Work out the cases of one person and disease again; the series whose counts may have changed."""
    existing = {case.id: case for case in session.scalars(
        select(DiseaseCase).where(DiseaseCase.person_id == person_id, DiseaseCase.disease_code == disease))}
    touched = {(case.disease_code, case.district) for case in existing.values()}
    cards = _cards(session, person_id, disease)
    documents = [card.document_row_id for card in cards]
    membership: dict[int, int] = {}
    if documents:
        membership = dict(session.execute(select(CaseCard.document_row_id, CaseCard.case_id)
                                          .where(CaseCard.document_row_id.in_(documents))).all())
        session.execute(delete(CaseCard).where(CaseCard.document_row_id.in_(documents)))
    if existing:
        session.execute(delete(CaseCard).where(CaseCard.case_id.in_(sorted(existing))))
    kept: set[int] = set()
    rows = []
    for episode in episodes(cards, episode_days(disease)):
        first = episode[0]
        values = dict(person_id=person_id, disease_code=disease, district=first.division, first_onset=first.onset,
                      first_diagnosis=min(card.diagnosis for card in episode),
                      first_report_at=min(card.reported_at for card in episode),
                      institutions=",".join(sorted({card.institution for card in episode}))[:400],
                      card_count=len(episode), first_card_row_id=first.document_row_id)
        # the case keeps the row id it had: the lowest of this person's cases its cards were in
        reuse = sorted({membership.get(card.document_row_id) for card in episode} & set(existing) - kept)
        if reuse:
            case = existing[reuse[0]]
            if any(getattr(case, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(case, name, value)
                case.updated_at = now
        else:
            case = DiseaseCase(**values, updated_at=now)
            session.add(case)
            session.flush()
        kept.add(case.id)
        touched.add((disease, case.district))
        rows += [{"document_row_id": card.document_row_id, "case_id": case.id} for card in episode]
    gone = sorted(set(existing) - kept)
    if gone:
        session.execute(delete(DiseaseCase).where(DiseaseCase.id.in_(gone)))
    if rows:
        session.execute(insert(CaseCard), rows)
    return touched


def relink(session: Session, keys: Iterable[tuple[int, str]], now: datetime) -> set[Series]:
    """Work out the cases of each (person, disease) of ``keys`` again; the series touched."""
    touched: set[Series] = set()
    for person_id, disease in sorted(set(keys)):
        touched |= _relink_one(session, person_id, disease, now)
    return touched


def keys_of_documents(session: Session, document_rows: list[int]) -> set[tuple[int, str]]:
    """The (person, disease) of these cards now and of the cases they were in (a card may have moved)."""
    if not document_rows:
        return set()
    now_keys = session.execute(select(DiseaseReport.person_id, DiseaseReport.disease_code)
                               .where(DiseaseReport.document_ref.in_(document_rows))).all()
    before = session.execute(select(DiseaseCase.person_id, DiseaseCase.disease_code)
                             .join(CaseCard, CaseCard.case_id == DiseaseCase.id)
                             .where(CaseCard.document_row_id.in_(document_rows))).all()
    return {(row[0], row[1]) for row in [*now_keys, *before]}


def keys_of_merges(session: Session) -> tuple[int, set[tuple[int, str]]]:
    """Take up the pending MPI merges and unmerges (``mpi_merge_pending``, written in each merge's
    transaction): how many, and the (person, disease) of every case and card of their persons. The rows are
    deleted in the caller's transaction: a crash before its commit leaves them for the next pass."""
    merges = session.execute(select(MergeRecord.id, MergeRecord.survivor_id, MergeRecord.retired_id)
                             .join(PendingMerge, PendingMerge.merge_id == MergeRecord.id)).all()
    if not merges:
        return 0, set()
    session.execute(delete(PendingMerge).where(PendingMerge.merge_id.in_(sorted(row.id for row in merges))))
    persons = sorted({person for row in merges for person in (row.survivor_id, row.retired_id)})
    keys = set(session.execute(select(DiseaseCase.person_id, DiseaseCase.disease_code)
                               .where(DiseaseCase.person_id.in_(persons))).all())
    keys |= set(session.execute(select(DiseaseReport.person_id, DiseaseReport.disease_code)
                                .where(DiseaseReport.person_id.in_(persons))).all())
    return len(merges), {(row[0], row[1]) for row in keys}


def case_counts(session: Session, disease: str, district: str) -> dict[date, int]:
    """Cases of ``disease`` in ``district`` by their first diagnosis day."""
    rows = session.execute(select(DiseaseCase.first_diagnosis, func.count())
                           .where(DiseaseCase.disease_code == disease, DiseaseCase.district == district)
                           .group_by(DiseaseCase.first_diagnosis)).all()
    return {day: count for day, count in rows}


__all__ = ["DEFAULT_EPISODE_DAYS", "EPISODE_DAYS", "Card", "Series", "episode_days", "episodes",
           "relink", "keys_of_documents", "keys_of_merges", "case_counts"]
