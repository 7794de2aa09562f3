"""A resident ID is evidence about who the record is, also when it is wrong (issue 23): an invalid ID that
cannot be a known person's ID bars the auto-link to that person, and a valid ID whose own birth-date and sex
digits contradict the record is someone else's (a typo giving another valid ID): no deterministic link.
SYNTHETIC people (generated IDs, invented names; see conftest)."""
from __future__ import annotations

from sqlalchemy import select

from hub import mpi
from hub.mpi import PersonIdentifier, ReviewItem
from hub.mpi.matching import Demographics, contradicts_its_id
from hub.mpi.resident_id import make_resident_id, near_misses

from .conftest import ZHANG_ID, opd, rid, traits
from .test_resolve import HOME, count, resolve

# A namesake: another 张伟, male, born the same day in the same district (only the sequence code differs)
NAMESAKE_ID = make_resident_id("33010219850312003")
NAMESAKE_TYPO = NAMESAKE_ID[:6] + "2" + NAMESAKE_ID[7:]  # one digit off in the district code: 3301[0→2]2…
TWIN_A = make_resident_id("33010219850312001")  # 张伟, the elder twin
TWIN_B = make_resident_id("33010219850312003")  # 张玮, the younger (same reading: zhang wei)
TWIN_B_TYPO = TWIN_B[:6] + "2" + TWIN_B[7:]     # one slip in the district code: not a near-miss of A's ID
ZHANG = dict(name="张伟", sex="1", born="1985-03-12")


def test_a_namesakes_mistyped_id_does_not_link_the_other_zhang_wei(sessions):
    """An invalid ID two or more slips from A's valid ID is evidence it is not A: review, not auto-link."""
    assert not mpi.is_valid_resident_id(NAMESAKE_TYPO) and ZHANG_ID not in near_misses(NAMESAKE_TYPO)
    a = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), **ZHANG))
    other = resolve(sessions, "syn002", traits(rid(NAMESAKE_TYPO), opd("B1", "syn002"), **ZHANG))
    assert other.person_id != a.person_id, f"namesake's record auto-linked to A ({other.decision})"
    assert other.decision == "review" and count(sessions, ReviewItem) == 1  # 20 points: a person decides


def test_a_mistyped_id_one_slip_from_the_holders_id_still_links(sessions):
    """The bar is only for IDs the clerk cannot have meant: a slip of the holder's own ID auto-links as before."""
    typo = ZHANG_ID[:6] + "2" + ZHANG_ID[7:]
    assert not mpi.is_valid_resident_id(typo) and ZHANG_ID in near_misses(typo)
    a = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), **ZHANG))
    again = resolve(sessions, "syn002", traits(rid(typo), opd("B1", "syn002"), **ZHANG))
    assert (again.decision, again.person_id) == ("auto", a.person_id)


def test_a_twins_mistyped_id_does_not_link_the_other_twin(sessions):
    """Twins with homophone names (张伟 / 张玮), same birth date and home: the younger twin's record with a
    mistyped ID that cannot be the elder's ID (two slips away) does not auto-link to the elder twin."""
    assert not mpi.is_valid_resident_id(TWIN_B_TYPO) and TWIN_A not in near_misses(TWIN_B_TYPO)
    elder = resolve(sessions, "syn001", traits(rid(TWIN_A), opd("A1"), **ZHANG, **HOME))
    younger = resolve(sessions, "syn001", traits(rid(TWIN_B_TYPO), opd("A2"), name="张玮", sex="1", born="1985-03-12",
                                                 **HOME))
    assert younger.person_id != elder.person_id, f"the younger twin's record is on the elder's ({younger.decision})"
    assert younger.decision == "review"


def test_a_valid_id_of_someone_else_does_not_link_a_contradicting_record(sessions):
    """One typo in ten gives another valid ID (MOD 11-2): 李娜, female, born 1990-07-08, sent with 张伟's ID
    (whose own digits say male, born 1985-03-12): not linked on the ID; a new person and one review item
    against the ID's holder, who keeps the ID alone."""
    zhang = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), **ZHANG))
    li = resolve(sessions, "syn002", traits(rid(ZHANG_ID), opd("B1", "syn002"), name="李娜", sex="2",
                                            born="1990-07-08"))
    assert li.person_id != zhang.person_id, f"linked on the ID alone ({li.decision})"
    assert li.decision == "review"
    with sessions() as session:
        items = session.execute(select(ReviewItem.patient_record_id, ReviewItem.candidate_person_id)).all()
        holders = session.execute(select(PersonIdentifier.person_id).where(PersonIdentifier.value == ZHANG_ID)).all()
    assert items == [(li.patient_record_id, zhang.person_id)] and holders == [(zhang.person_id,)]


def test_a_valid_id_still_links_when_the_record_has_one_slip_or_the_name_agrees(sessions):
    """The record, not the ID, is wrong here: a birth month typed wrong, or a wrong birth date and sex with
    the holder's own name. Both stay deterministic links."""
    zhang = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), **ZHANG))
    month = resolve(sessions, "syn002", traits(rid(ZHANG_ID), opd("B1", "syn002"), name="李娜", sex="1",
                                               born="1985-04-12"))
    named = resolve(sessions, "syn003", traits(rid(ZHANG_ID), opd("C1", "syn003"), name="张伟", sex="2",
                                               born="1990-07-08"))
    assert [(r.decision, r.person_id) for r in (month, named)] == [("identifier", zhang.person_id)] * 2


def test_what_an_ids_own_digits_contradict():
    """Beyond one slip: a birth date off in one field or day/month swapped is the record's typo, not another ID."""
    ok = Demographics(name="李娜", sex="1", birth_date="1985-12-03", resident_id=ZHANG_ID)  # day/month swapped
    assert not contradicts_its_id(ok) and not contradicts_its_id(ok._replace(birth_date="1986-03-12"))
    assert contradicts_its_id(ok._replace(birth_date="1990-07-08")) and contradicts_its_id(ok._replace(sex="2"))
    assert not contradicts_its_id(ok._replace(resident_id=None, sex="2"))
