"""Two different valid resident IDs in one document (issue 23): the document is kept, neither ID is trusted
(no deterministic link, never a person's resident ID), both are kept together, and a person holding either
goes to review. SYNTHETIC people (see conftest)."""
from __future__ import annotations

from sqlalchemy import select

from hub.mpi import PatientRecord, PersonIdentifier, ReviewItem
from hub.mpi.traits import probe_of, resident_id_conflict

from .conftest import LI_ID, RESIDENT_ROOT, ZHANG_ID, opd, rid, traits
from .test_resolve import HOME, count, resolve

ZHANG = dict(name="张伟", sex="1", born="1985-03-12", **HOME)
PAIR = "|".join(sorted((ZHANG_ID, LI_ID)))


def test_two_valid_ids_are_kept_untrusted_not_refused():
    probe = probe_of(traits(rid(ZHANG_ID), rid(LI_ID, root="1.2.3"), opd("A1"), **ZHANG))
    assert probe.conflict_ids == tuple(sorted((ZHANG_ID, LI_ID))) and probe.demographics.resident_id is None
    assert not any(kind == "resident_id" for kind, _, _ in probe.global_ids)
    assert resident_id_conflict(traits(rid(ZHANG_ID), rid(LI_ID, root="1.2.3"))) == "1.2.3"
    assert resident_id_conflict(traits(rid(ZHANG_ID), rid(ZHANG_ID.lower()))) is None  # the same ID twice
    swapped = probe_of(traits(rid(LI_ID), rid(ZHANG_ID), name="张伟", born="1985-03-12"))
    assert swapped.local_key == probe_of(traits(rid(ZHANG_ID), rid(LI_ID), name="张伟", born="1985-03-12")).local_key


def test_a_person_holding_either_id_gets_a_review_never_a_link(sessions):
    """The record agrees with 张伟 on every trait (42 points) and holds his ID: still no link, since the
    other ID is someone else's (a mother's ID typed on a child's visit, a neighbour's card)."""
    zhang = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), **ZHANG))
    both = resolve(sessions, "syn002", traits(rid(ZHANG_ID), rid(LI_ID), opd("B1", "syn002"), **ZHANG))
    assert both.person_id != zhang.person_id and both.decision == "review"
    with sessions() as session:
        items = session.execute(select(ReviewItem.patient_record_id, ReviewItem.candidate_person_id)).all()
        held = session.execute(select(PersonIdentifier.person_id, PersonIdentifier.kind, PersonIdentifier.value)
                               .order_by(PersonIdentifier.id)).all()
        record = session.get(PatientRecord, both.patient_record_id)
    assert items == [(both.patient_record_id, zhang.person_id)]
    assert held == [(zhang.person_id, "resident_id", ZHANG_ID), (both.person_id, "resident_id.conflict", PAIR)]
    assert record.resident_id is None


def test_without_a_holder_the_ids_link_nobody_later(sessions):
    """Kept as a pair: a later document with one of the IDs is not linked on it to the conflicting record."""
    both = resolve(sessions, "syn001", traits(rid(ZHANG_ID), rid(LI_ID), opd("A1"), name="王芳", sex="2",
                                              born="1970-01-02"))
    assert both.decision == "new"
    li = resolve(sessions, "syn002", traits(rid(LI_ID), opd("B1", "syn002"), name="李娜", sex="2", born="1990-07-08"))
    assert li.person_id != both.person_id and li.decision != "identifier"
    again = resolve(sessions, "syn001", traits(rid(LI_ID), rid(ZHANG_ID), opd("A1"), name="王芳"))
    assert (again.decision, again.person_id) == ("existing", both.person_id)
    assert count(sessions, PersonIdentifier) == 2  # the pair, and 李娜's ID
    with sessions() as session:
        assert session.scalar(select(PersonIdentifier.kind).where(PersonIdentifier.value == LI_ID)) == "resident_id"
        assert session.scalar(select(PersonIdentifier.root).where(PersonIdentifier.value == PAIR)) == RESIDENT_ROOT
