"""The near-miss in the other order (issue 23): a record kept with an invalid resident ID is reconsidered when
a valid ID one slip from it is indexed later — merged when the forward rule would have auto-linked, offered
for review when it would have queued, never across the guards. SYNTHETIC people (see conftest)."""
from __future__ import annotations

from sqlalchemy import select

from hub import mpi
from hub.mpi import MergeRecord, ReviewItem
from hub.mpi.models import MeantIdentifier

from .conftest import LI_ID, ZHANG_ID, opd, rid, traits
from .test_id_conflict import ZHANG
from .test_invalid_id import TYPO
from .test_resolve import count, resolve

# 章伟 (a homophone surname), the birth YEAR mistyped: no blocking key is shared with 张伟's later record
# (other birth date, other year, no phone), so only the ID can bring the two together.
EARLIER = dict(name="章伟", sex="1", born="1986-03-12")


def _person_of(sessions, record_id: int) -> int:
    with sessions() as session:
        return mpi.current_person_id(session, session.get(mpi.PatientRecord, record_id).person_id)


def test_an_earlier_invalid_id_is_merged_when_its_valid_id_arrives(sessions):
    """9 (homophone) + 3 (one birth field) + 1 (sex) + 6 (near miss) = 19: what the forward rule links."""
    early = resolve(sessions, "syn003", traits(rid(TYPO), opd("C1", "syn003"), **EARLIER))
    assert early.decision == "new"
    zhang = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    assert zhang.decision == "new"  # the demographics alone found nobody
    assert _person_of(sessions, early.patient_record_id) == zhang.person_id
    with sessions() as session:
        merged = session.execute(select(MergeRecord.survivor_id, MergeRecord.retired_id, MergeRecord.actor)).all()
    assert merged == [(zhang.person_id, early.person_id, "mpi")]


def test_below_the_auto_link_score_the_pair_is_offered_for_review(sessions):
    early = resolve(sessions, "syn003", traits(rid(TYPO), opd("C1", "syn003"), name="章伟", born="1986-03-12"))
    zhang = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    assert _person_of(sessions, early.patient_record_id) == early.person_id  # 18: not merged
    with sessions() as session:
        items = session.execute(select(ReviewItem.patient_record_id, ReviewItem.candidate_person_id,
                                       ReviewItem.score, ReviewItem.reason)).all()
    assert items == [(early.patient_record_id, zhang.person_id, 18.0, "near-miss")]


def test_never_across_a_different_valid_id(sessions):
    """The earlier record's person got another valid ID since: no merge (review at most)."""
    early = resolve(sessions, "syn003", traits(rid(TYPO), opd("C1", "syn003"), **EARLIER))
    resolve(sessions, "syn003", traits(rid(LI_ID), opd("C1", "syn003"), **EARLIER))  # same local key: existing
    zhang = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    assert _person_of(sessions, early.patient_record_id) == early.person_id != zhang.person_id
    assert count(sessions, MergeRecord) == 0


def test_the_look_up_is_one_indexed_query_on_rows_written_with_the_record(sessions):
    """Only valid IDs nobody holds are remembered; a record with a trusted ID remembers none."""
    early = resolve(sessions, "syn003", traits(rid(TYPO), opd("C1", "syn003"), **EARLIER))
    resolve(sessions, "syn001", traits(rid(ZHANG_ID), rid(TYPO), opd("A9"), **ZHANG))
    with sessions() as session:
        rows = session.execute(select(MeantIdentifier.patient_record_id, MeantIdentifier.reason,
                                      MeantIdentifier.typed)).all()
        values = set(session.scalars(select(MeantIdentifier.value)))
        indexes = {ix.name for ix in MeantIdentifier.__table__.indexes}
    assert ZHANG_ID in values and len(values) == len(rows) == len(mpi.resident_id.near_misses(TYPO))
    assert set(rows) == {(early.patient_record_id, "near-miss", TYPO)} and "ix_mpi_meant_id_value" in indexes


def test_a_conflicting_pairs_record_is_reviewed_when_either_id_is_indexed(sessions):
    both = resolve(sessions, "syn001", traits(rid(ZHANG_ID), rid(LI_ID), opd("A1"), name="王芳", sex="2",
                                              born="1970-01-02"))
    li = resolve(sessions, "syn002", traits(rid(LI_ID), opd("B1", "syn002"), name="李娜", sex="2", born="1990-07-08"))
    with sessions() as session:
        items = session.execute(select(ReviewItem.patient_record_id, ReviewItem.candidate_person_id,
                                       ReviewItem.reason)).all()
    assert items == [(both.patient_record_id, li.person_id, "id-conflict")]
