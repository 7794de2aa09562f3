"""Cases, not cards: cards of one person and disease from several institutions are one case; a new
version or a cancellation updates the case; the episode window opens a new case; an MPI merge joins
two persons' cases and an unmerge parts them again."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from hub.mpi.merge import merge, unmerge
from hub.records.models import DiseaseReport, RecordDocument
from hub.store.db import transaction
from hub.workflows import run_pass
from hub.workflows.surveillance.cases import DEFAULT_EPISODE_DAYS, Card, episode_days, episodes
from hub.workflows.surveillance.models import CaseCard, DiseaseCase
from protocol.timestamps import utcnow

from .cards import HFMD, HIV, NOROVIRUS, card, resident
from .reports import cancellation

ONSET = date(2026, 11, 2)


def _cases(store) -> list[tuple]:
    with store.sessions() as session:
        return sorted((c.disease_code, c.district, c.first_onset, c.first_diagnosis, c.institutions, c.card_count)
                      for c in session.scalars(select(DiseaseCase)))


def _run(store, *documents, member: str = "CLINIC01"):
    if documents:
        store.deliver(*documents, member=member)
    store.process()
    run_pass(store.sessions)


def test_the_episode_window_in_pure_form():
    def at(day: int, row: int) -> Card:
        return Card(row, ONSET + timedelta(days=day), ONSET + timedelta(days=day), None, "330102", "CLINIC01")

    cards = [at(0, 1), at(40, 3), at(DEFAULT_EPISODE_DAYS, 2), at(DEFAULT_EPISODE_DAYS + 1, 4)]
    assert [[c.document_row_id for c in e] for e in episodes(cards, DEFAULT_EPISODE_DAYS)] == [[1, 2], [4, 3]]
    assert [[c.document_row_id for c in e] for e in episodes(cards, None)] == [[1, 2, 4, 3]]
    assert episode_days("202") is None and episode_days("310") == DEFAULT_EPISODE_DAYS


def test_two_institutions_one_person_one_case(store):
    one, other = resident(1), resident(2)
    _run(store, card("C-1", patient=one, onset=ONSET, diagnosis=ONSET + timedelta(days=1)),
         card("C-3", patient=other, onset=ONSET))
    _run(store, card("H-1", patient=one, institution="HOSP01", onset=ONSET - timedelta(days=1),
                     diagnosis=ONSET + timedelta(days=2)), member="HOSP01")
    assert _cases(store) == [
        ("310", "330102", ONSET - timedelta(days=1), ONSET + timedelta(days=1), "CLINIC01,HOSP01", 2),
        ("310", "330102", ONSET, ONSET, "CLINIC01", 1)]

    # a new version that moves the clinic's card to another district and disease: the case parts
    _run(store, card("C-1", patient=one, disease=HFMD, division="330105", onset=ONSET, version=2))
    assert _cases(store) == [
        ("310", "330102", ONSET - timedelta(days=1), ONSET + timedelta(days=2), "HOSP01", 1),
        ("310", "330102", ONSET, ONSET, "CLINIC01", 1),
        ("311", "330105", ONSET, ONSET, "CLINIC01", 1)]

    _run(store, cancellation("X-1", "C-3"))  # a cancelled card leaves no case behind
    assert len(_cases(store)) == 2
    with store.sessions() as session:
        assert session.scalar(select(CaseCard.case_id).join(RecordDocument, RecordDocument.id == CaseCard.document_row_id)
                              .where(RecordDocument.document_id == "C-3")) is None


def test_a_new_case_after_the_episode_window_but_never_for_a_life_long_infection(store):
    person = resident(3)
    later = ONSET + timedelta(days=DEFAULT_EPISODE_DAYS + 5)
    _run(store, card("E-1", patient=person, onset=ONSET), card("E-2", patient=person, onset=later),
         card("E-3", patient=person, disease=HIV, onset=ONSET), card("E-4", patient=person, disease=HIV, onset=later))
    assert [(c[0], c[2], c[5]) for c in _cases(store)] == [("202", ONSET, 2), ("310", ONSET, 1), ("310", later, 1)]


def _person_of(session, document_id: str) -> int:
    return session.scalar(select(DiseaseReport.person_id).join(RecordDocument, RecordDocument.id ==
                                                                DiseaseReport.document_ref)
                          .where(RecordDocument.document_id == document_id))


def test_an_mpi_merge_joins_the_two_persons_cases_and_an_unmerge_parts_them(store):
    _run(store, card("M-1", patient=resident(4), onset=ONSET))
    _run(store, card("M-2", patient={"name": "测试无证", "sex": "2", "birth_date": "1990-01-01"}, institution="HOSP01",
              onset=ONSET + timedelta(days=1)), member="HOSP01")
    assert [c[5] for c in _cases(store)] == [1, 1]
    with transaction(store.sessions) as session:
        merge_id = merge(session, survivor_id=_person_of(session, "M-1"), retired_id=_person_of(session, "M-2"),
                         actor="operator", reason="same person", now=utcnow()).id
    _run(store, card("OTHER", patient=resident(5), disease=HFMD, onset=ONSET))  # the next pass with any card
    assert [(c[0], c[4], c[5]) for c in _cases(store)] == [("310", "CLINIC01,HOSP01", 2), ("311", "CLINIC01", 1)]
    with transaction(store.sessions) as session:
        unmerge(session, merge_id=merge_id, actor="operator", reason="two persons", now=utcnow())
    _run(store, card("OTHER2", patient=resident(6), disease=HFMD, onset=ONSET))
    assert [(c[0], c[4], c[5]) for c in _cases(store) if c[0] == NOROVIRUS[0]] == [
        ("310", "CLINIC01", 1), ("310", "HOSP01", 1)]
