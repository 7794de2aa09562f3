"""merge / unmerge: every record follows, unmerge restores exactly, audit without personal data."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from hub import mpi
from hub.audit import AuditEvent
from hub.errors import MpiError
from hub.mpi import MergeRecord, PatientRecord, Person, PersonIdentifier, ReviewItem
from hub.store.db import transaction

from .conftest import LI_ID, NOW, ZHANG_ID, opd, rid, traits

HOME = dict(phone="10000000001", division="330102", address="合成一路1号1栋101室")


def resolve(sessions, institution, t):
    with transaction(sessions) as session:
        return mpi.resolve(session, institution=institution, traits=t, now=NOW)


def add_visit(sessions, table, resolution, note):
    with transaction(sessions) as session:
        session.execute(insert(table).values(person_id=resolution.person_id,
                                             patient_record_id=resolution.patient_record_id, note=note))


def snapshot(sessions, table):
    """Who owns what: patient records, identifiers, visits, person states."""
    with sessions() as session:
        return {
            "records": sorted(session.execute(select(PatientRecord.id, PatientRecord.person_id)).all()),
            "identifiers": sorted(session.execute(select(PersonIdentifier.id, PersonIdentifier.person_id)).all()),
            "visits": sorted(session.execute(select(table.c.id, table.c.person_id)).all()),
            "persons": sorted(session.execute(select(Person.id, Person.status, Person.merged_into_id)).all()),
        }


def two_people(sessions, table):
    """Person A (resident ID, two records) and person B (another institution's split record)."""
    a1 = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="陈建国", sex="1", born="1985-03-12", **HOME))
    a2 = resolve(sessions, "syn002", traits(rid(ZHANG_ID), opd("A2", "syn002"), name="陈建国"))
    b1 = resolve(sessions, "syn003", traits(opd("B1", "syn003"), ("health_card_no", "2.16.156.10011.1.19", "SYN77"),
                                            name="陈建明", sex="1", born="1985-03-12", **HOME))
    assert a1.person_id == a2.person_id != b1.person_id
    for resolution, note in ((a1, "a1"), (a2, "a2"), (b1, "b1")):
        add_visit(sessions, table, resolution, note)
    return a1, b1


def test_record_tables_are_discovered(sessions, visit_table):
    assert visit_table in mpi.record_tables()
    assert ReviewItem.__table__ not in mpi.record_tables()


def test_merge_then_unmerge_restores_exactly(sessions, visit_table):
    a, b = two_people(sessions, visit_table)
    before = snapshot(sessions, visit_table)
    with transaction(sessions) as session:
        entry = mpi.merge(session, survivor_id=a.person_id, retired_id=b.person_id, actor="staff-7",
                          reason="same person", now=NOW)
        merge_id = entry.id
    merged = snapshot(sessions, visit_table)
    assert {person for _, person in merged["records"]} == {a.person_id}
    assert {person for _, person in merged["visits"]} == {a.person_id}
    assert {person for _, person in merged["identifiers"]} == {a.person_id}
    with sessions() as session:
        assert mpi.current_person_id(session, b.person_id) == a.person_id
        assert mpi.get_person(session, b.person_id).id == a.person_id
        card = ("2.16.156.10011.1.19", "SYN77")
        assert [p.id for p in mpi.find_persons(session, identifier=card)] == [a.person_id]
    # the retired person's patient record sends another document after the merge
    late = resolve(sessions, "syn003", traits(opd("B1", "syn003"), name="陈建明"))
    assert (late.decision, late.person_id, late.patient_record_id) == ("existing", a.person_id, b.patient_record_id)
    add_visit(sessions, visit_table, late, "b1-late")
    with transaction(sessions) as session:
        undo = mpi.unmerge(session, merge_id=merge_id, actor="staff-7", reason="wrong merge", now=NOW)
        assert (undo.kind, undo.undoes_id) == ("unmerge", merge_id)
        undo_id = undo.id
    after = snapshot(sessions, visit_table)
    late_visit = max(after["visits"])
    assert late_visit[1] == b.person_id  # the late record followed its patient record
    after["visits"].remove(late_visit)
    assert after == before
    with sessions() as session:
        events = session.execute(select(AuditEvent.event_type, AuditEvent.member, AuditEvent.detail,
                                        AuditEvent.message_id)
                                 .where(AuditEvent.event_type.like("mpi.%")).order_by(AuditEvent.id)).all()
    assert [(e, actor, message) for e, actor, _, message in events] == [("mpi.merge", "staff-7", None),
                                                                        ("mpi.unmerge", "staff-7", None)]
    assert [ref for _, _, ref, _ in events] == [f"mpi_merge:{merge_id}", f"mpi_merge:{undo_id}"]
    assert all("陈" not in ref and ZHANG_ID not in ref for _, _, ref, _ in events)


def test_merge_refusals(sessions, visit_table):
    a, b = two_people(sessions, visit_table)
    li = resolve(sessions, "syn004", traits(rid(LI_ID), name="李娜", born="1990-07-08"))
    with transaction(sessions) as session:
        with pytest.raises(MpiError) as caught:
            mpi.merge(session, survivor_id=a.person_id, retired_id=li.person_id, actor="s", reason="r", now=NOW)
        assert caught.value.code == "mpi.conflict"  # two different resident IDs
        with pytest.raises(MpiError) as caught:
            mpi.merge(session, survivor_id=a.person_id, retired_id=a.person_id, actor="s", reason="r", now=NOW)
        assert caught.value.code == "mpi.conflict"
        with pytest.raises(MpiError) as caught:
            mpi.merge(session, survivor_id=a.person_id, retired_id=999_999, actor="s", reason="r", now=NOW)
        assert caught.value.code == "mpi.person.not_found"
        with pytest.raises(MpiError):
            mpi.current_person_id(session, 999_999)
    with transaction(sessions) as session:
        merge_id = mpi.merge(session, survivor_id=a.person_id, retired_id=b.person_id, actor="s", reason="r",
                             now=NOW).id
    with transaction(sessions) as session, pytest.raises(MpiError) as caught:
        mpi.merge(session, survivor_id=a.person_id, retired_id=b.person_id, actor="s", reason="r", now=NOW)
    assert caught.value.code == "mpi.conflict"  # retired is no longer active
    with transaction(sessions) as session:
        mpi.unmerge(session, merge_id=merge_id, actor="s", reason="r", now=NOW)
    with transaction(sessions) as session, pytest.raises(MpiError) as caught:
        mpi.unmerge(session, merge_id=merge_id, actor="s", reason="r", now=NOW)
    assert caught.value.code == "mpi.conflict"  # already undone


def test_record_matching_two_split_persons_goes_to_review(sessions, visit_table):
    """Two persons with the same demographics kept apart by their resident IDs; a record without an
    ID matches both equally well and must not silently pick one."""
    base = dict(name="刘伟", sex="1", born="1985-03-12", **HOME)
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("P1"), **base))
    second = resolve(sessions, "syn002", traits(rid("330102198503120030"), opd("P2", "syn002"), **base))
    assert second.decision == "review" and second.person_id != first.person_id
    third = resolve(sessions, "syn003", traits(opd("P3", "syn003"), **base))
    assert third.decision == "review" and third.person_id not in {first.person_id, second.person_id}
    with sessions() as session:
        candidates = set(session.scalars(select(ReviewItem.candidate_person_id)
                                         .where(ReviewItem.patient_record_id == third.patient_record_id)))
    assert candidates == {first.person_id, second.person_id}


def test_persons_split_by_unmerge_stay_apart(sessions, visit_table):
    base = dict(name="刘伟", sex="1", born="1985-03-12", **HOME)
    first = resolve(sessions, "syn001", traits(opd("P1"), **base))
    other = resolve(sessions, "syn002", traits(opd("P2", "syn002"), name="刘强", sex="1", born="1985-03-12", **HOME))
    assert other.decision == "review"
    with transaction(sessions) as session:
        review_id = session.scalars(select(ReviewItem.id)).one()
        mpi.link(session, review_id=review_id, accept=True, actor="s", now=NOW)
        merge_id = session.scalar(select(MergeRecord.id))
    with transaction(sessions) as session:
        mpi.unmerge(session, merge_id=merge_id, actor="s", reason="not the same", now=NOW)
        assert session.scalar(select(MergeRecord.kind).where(MergeRecord.undoes_id == merge_id)) == "unmerge"
    with sessions() as session:
        owners = dict(session.execute(select(PatientRecord.id, PatientRecord.person_id)).all())
        assert mpi.current_person_id(session, other.person_id) == other.person_id
    assert owners == {first.patient_record_id: first.person_id, other.patient_record_id: other.person_id}
    again = resolve(sessions, "syn002", traits(opd("P2", "syn002"), name="刘强"))
    assert (again.decision, again.person_id) == ("existing", other.person_id)
