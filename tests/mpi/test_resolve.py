"""resolve / resolve_many on SQLite and PostgreSQL: deterministic, probabilistic, review, guards."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from hub import mpi
from hub.errors import MpiError
from hub.mpi import PatientRecord, Person, PersonIdentifier, ReviewItem
from hub.store.db import make_engine, session_factory, transaction
from hub.store.metadata import metadata
from protocol.errors import RecordError

from .conftest import LI_ID, NOW, ZHANG_ID, opd, rid, traits

HOME = dict(phone="10000000001", division="330102", address="合成一路1号1栋101室")


def resolve(sessions, institution, t):
    with transaction(sessions) as session:
        return mpi.resolve(session, institution=institution, traits=t, now=NOW)


def count(sessions, model):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_bad_check_digit_is_kept_as_invalid_and_the_record_matched_on_the_rest(sessions):
    bad = ZHANG_ID[:-1] + "5"
    resolved = resolve(sessions, "syn001", traits(rid(bad, root="2.16.156.10011.1.3"), name="张伟", born="1985-03-12"))
    assert resolved.decision == "new" and count(sessions, Person) == 1
    with sessions() as session:
        held = session.execute(select(PersonIdentifier.kind, PersonIdentifier.value)).all()
        record = session.get(PatientRecord, resolved.patient_record_id)
        assert mpi.find_persons(session, identifier=(mpi.RESIDENT_ID_ROOT, bad)) == []  # never shown as valid
    assert held == [("resident_id.invalid", bad)] and record.resident_id is None


def test_no_identifier_needs_name_and_birth_date(sessions):
    with pytest.raises(RecordError) as caught:
        resolve(sessions, "syn001", traits(name="张伟", **HOME))
    assert caught.value.code == "record.patient.invalid" and "张伟" not in str(caught.value)
    assert resolve(sessions, "syn001", traits(name="张伟", born="1985-03-12")).decision == "new"


def test_resident_id_links_across_institutions(sessions):
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    # another institution, another root spelling, lower-case... and a name typo: the ID decides
    second = resolve(sessions, "syn002", traits(rid(ZHANG_ID, root="1.2.3.4"), opd("B7", "syn002"), name="章伟"))
    assert first.decision == "new" and second.decision == "identifier"
    assert second.person_id == first.person_id and second.patient_record_id != first.patient_record_id
    again = resolve(sessions, "syn002", traits(opd("B7", "syn002"), name="章伟"))
    assert again.decision == "existing" and again.patient_record_id == second.patient_record_id
    with sessions() as session:
        held = session.execute(select(PersonIdentifier.root, PersonIdentifier.value)).all()
    assert held == [(mpi.RESIDENT_ID_ROOT, ZHANG_ID)]


def test_health_card_number_links_deterministically(sessions):
    card = ("health_card_no", "2.16.156.10011.1.19", "SYN0001")
    first = resolve(sessions, "syn001", traits(card, name="王芳", born="1970-01-01"))
    second = resolve(sessions, "syn002", traits(card, name="王芳"))
    assert second.decision == "identifier" and second.person_id == first.person_id


@pytest.mark.parametrize("variant, why", [
    (dict(name="刘维"), "homophone typo"),
    (dict(born="1985-12-03"), "day and month swapped"),
    (dict(name="柳伟", phone=None), "homophone surname, no phone"),
    (dict(name="吴伟"), "surname typo, given name and everything else agree"),
])
def test_probabilistic_auto_link(sessions, variant, why):
    base = dict(name="刘伟", sex="1", born="1985-03-12", **HOME)
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), **base))
    probe = traits(opd("C9", "syn003"), **(base | variant))
    second = resolve(sessions, "syn003", probe)
    assert (second.decision, second.person_id) == ("auto", first.person_id), why
    assert second.score >= mpi.AUTO_LINK_THRESHOLD


def test_twins_are_not_linked(sessions):
    one = resolve(sessions, "syn001", traits(opd("T1"), name="李明华", sex="2", born="2001-05-06", **HOME))
    two = resolve(sessions, "syn001", traits(opd("T2"), name="李明丽", sex="2", born="2001-05-06", **HOME))
    assert two.person_id != one.person_id and two.decision in {"review", "new"}


def test_family_sharing_a_phone_is_not_linked(sessions):
    father = resolve(sessions, "syn001", traits(opd("F1"), name="张伟", sex="1", born="1960-02-03", **HOME))
    mother = resolve(sessions, "syn001", traits(opd("F2"), name="王芳", sex="2", born="1962-08-09", **HOME))
    child = resolve(sessions, "syn001", traits(opd("F3"), name="张小明", sex="1", born="1990-02-03", **HOME))
    assert len({father.person_id, mother.person_id, child.person_id}) == 3
    assert {r.decision for r in (mother, child)} == {"new"}


def test_conflicting_resident_id_does_not_auto_link(sessions):
    base = dict(name="刘伟", sex="1", born="1985-03-12", **HOME)
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), **base))
    other_id = "330102198503120030"  # SYNTHETIC, valid, not ZHANG_ID
    assert mpi.is_valid_resident_id(other_id)
    second = resolve(sessions, "syn002", traits(rid(other_id), **base))
    assert second.person_id != first.person_id and second.decision == "review"


def test_review_queue_and_settling_it(sessions):
    base = dict(sex="1", born="1985-03-12", **HOME)
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), name="陈建国", **base))
    typo = resolve(sessions, "syn002", traits(opd("X1", "syn002"), name="陈建明", **base))  # not a homophone
    assert typo.decision == "review" and typo.person_id != first.person_id
    with sessions() as session:
        review = session.scalars(select(ReviewItem)).one()
    assert (review.patient_record_id, review.candidate_person_id, review.status) == (
        typo.patient_record_id, first.person_id, "open")
    with transaction(sessions) as session:
        settled = mpi.link(session, review_id=review.id, accept=True, actor="reviewer-1", now=NOW)
        assert settled.status == "linked"
        assert mpi.current_person_id(session, typo.person_id) == first.person_id
        assert session.get(PatientRecord, typo.patient_record_id).person_id == first.person_id
    with transaction(sessions) as session, pytest.raises(MpiError):
        mpi.link(session, review_id=review.id, accept=False, actor="reviewer-1", now=NOW)


def test_review_rejected_keeps_persons_apart(sessions):
    base = dict(sex="1", born="1985-03-12", **HOME)
    first = resolve(sessions, "syn001", traits(name="陈建国", **base))
    typo = resolve(sessions, "syn002", traits(name="陈建明", **base))
    with transaction(sessions) as session:
        review_id = session.scalars(select(ReviewItem.id)).one()
        assert mpi.link(session, review_id=review_id, accept=False, actor="reviewer-1", now=NOW).status == "rejected"
        assert mpi.current_person_id(session, typo.person_id) != first.person_id


def test_golden_record_fills_missing_fields_only(sessions):
    first = resolve(sessions, "syn001", traits(rid(LI_ID), name="李娜", born="1990-07-08"))
    resolve(sessions, "syn002", traits(rid(LI_ID), name="李那", sex="2", phone="100-0000-0002", division="330106"))
    with sessions() as session:
        person = session.get(Person, first.person_id)
        assert (person.name, person.sex, person.phone, person.division, person.birth_date) == (
            "李娜", "2", "10000000002", "330106", date(1990, 7, 8))


def test_find_persons(sessions):
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), name="张伟", sex="1", born="1985-03-12", **HOME))
    resolve(sessions, "syn001", traits(name="张伟", sex="1", born="1999-09-09"))
    with sessions() as session:
        by_id = mpi.find_persons(session, identifier=(mpi.RESIDENT_ID_ROOT, ZHANG_ID))
        assert [p.id for p in by_id] == [first.person_id]
        assert len(mpi.find_persons(session, name="张卫")) == 2                       # homophone search
        assert [p.id for p in mpi.find_persons(session, name="张伟", birth_date=date(1985, 3, 12))] == [first.person_id]
        assert mpi.find_persons(session) == []
        assert mpi.find_persons(session, identifier=(mpi.RESIDENT_ID_ROOT, LI_ID)) == []


def test_resolve_many_equals_resolve_in_order(sessions, tmp_path):
    base = dict(sex="1", born="1985-03-12", **HOME)
    items = [
        ("syn001", traits(rid(ZHANG_ID), opd("A1"), name="刘伟", **base)),
        ("syn002", traits(opd("B1", "syn002"), name="刘维", **base)),          # auto to the first, same batch
        ("syn001", traits(opd("A1"), name="刘伟")),                             # existing, same batch
        ("syn003", traits(rid(ZHANG_ID), name="刘伟")),                         # identifier, same batch
        ("syn003", traits(opd("C1", "syn003"), name="刘强", **base)),            # review (one character differs)
        ("syn004", traits(rid(LI_ID), name="李娜", sex="2", born="1990-07-08")),  # new
        ("syn004", traits(rid(LI_ID), opd("D1", "syn004"), name="李娜")),        # identifier (key differs)
    ]
    with transaction(sessions) as session:
        batch = mpi.resolve_many(session, items=items, now=NOW)
    engine = make_engine(f"sqlite:///{tmp_path}/one-by-one.db")
    metadata().create_all(engine)
    one_by_one = [resolve(session_factory(engine), institution, t) for institution, t in items]
    engine.dispose()
    assert batch == one_by_one
    assert [r.decision for r in batch] == ["new", "auto", "existing", "identifier", "review", "new", "identifier"]


def test_identifier_held_by_another_person_opens_one_review(sessions):
    card = ("health_card_no", "2.16.156.10011.1.19", "SYN0009")
    owner = resolve(sessions, "syn001", traits(card, name="王芳", born="1970-01-01"))
    other = resolve(sessions, "syn002", traits(opd("Q1", "syn002"), name="赵强", born="1999-09-09"))
    for _ in range(2):  # the same record, now carrying the card of another person
        again = resolve(sessions, "syn002", traits(opd("Q1", "syn002"), card, name="赵强"))
        assert (again.decision, again.person_id) == ("existing", other.person_id)
    with sessions() as session:
        reviews = session.execute(select(ReviewItem.patient_record_id, ReviewItem.candidate_person_id)).all()
    assert reviews == [(other.patient_record_id, owner.person_id)]
