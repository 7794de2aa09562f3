"""A resident ID failing its check is kept, never trusted: no deterministic link, a near-miss of a known
valid ID helps only when the names agree (issue 23). SYNTHETIC people (see conftest)."""
from __future__ import annotations

from sqlalchemy import select

from hub import mpi
from hub.mpi import PersonIdentifier, ReviewItem
from hub.mpi.resident_id import make_resident_id, near_misses

from .conftest import ZHANG_ID, opd, rid, traits
from .test_resolve import HOME, count, resolve

TYPO = ZHANG_ID[:9] + "6" + ZHANG_ID[10:]  # 198[5→6]: one digit off, the check character now wrong
SWAPPED = ZHANG_ID[:8] + ZHANG_ID[9] + ZHANG_ID[8] + ZHANG_ID[10:]  # 19[85→58]: two adjacent digits swapped


def test_the_typos_are_invalid_and_their_near_misses_hold_the_meant_id():
    for typed in (TYPO, SWAPPED):
        assert not mpi.is_valid_resident_id(typed) and ZHANG_ID in near_misses(typed)
    assert all(mpi.is_valid_resident_id(v) for v in near_misses(TYPO))
    assert near_misses(ZHANG_ID[:17] + "x") == near_misses(ZHANG_ID[:17] + "X")


def test_every_single_digit_typo_and_adjacent_swap_finds_the_meant_id():
    for position in range(18):
        for digit in "0123456789X" if position == 17 else "0123456789":
            typed = ZHANG_ID[:position] + digit + ZHANG_ID[position + 1:]
            if typed != ZHANG_ID:
                assert ZHANG_ID in near_misses(typed), typed
    for position in range(17):
        typed = ZHANG_ID[:position] + ZHANG_ID[position + 1] + ZHANG_ID[position] + ZHANG_ID[position + 2:]
        if typed != ZHANG_ID:
            assert ZHANG_ID in near_misses(typed), typed


WEAK = dict(name="章伟", sex="1", born="1985-04-12")  # a homophone, the birth month mistyped, no phone


def test_without_an_id_the_weak_record_only_queues(sessions):
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    control = resolve(sessions, "syn002", traits(opd("B1", "syn002"), **WEAK))  # 9 + 3 + 1 = 13: review
    assert control.decision == "review" and control.person_id != first.person_id


def test_a_near_miss_with_agreeing_names_links_where_the_demographics_alone_would_only_queue(sessions):
    first = resolve(sessions, "syn001", traits(rid(ZHANG_ID), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    linked = resolve(sessions, "syn003", traits(rid(TYPO), opd("C1", "syn003"), **WEAK))  # 13 + 6
    assert (linked.decision, linked.person_id) == ("auto", first.person_id)
    with sessions() as session:
        held = session.execute(select(PersonIdentifier.kind, PersonIdentifier.value)
                               .where(PersonIdentifier.person_id == first.person_id)
                               .order_by(PersonIdentifier.kind)).all()
    assert held == [("resident_id", ZHANG_ID), ("resident_id.invalid", TYPO)]


def test_an_invalid_id_never_links_deterministically(sessions):
    """The same typo sent for someone else (other name, other birth date) at another institution: a new
    person, although the typed value is held."""
    first = resolve(sessions, "syn001", traits(rid(TYPO), opd("A1"), name="张伟", sex="1", born="1985-03-12"))
    other = resolve(sessions, "syn002", traits(rid(TYPO), opd("B1", "syn002"), name="刘芳", sex="2", born="1970-11-02"))
    assert first.decision == "new" and other.decision == "new" and other.person_id != first.person_id
    assert count(sessions, ReviewItem) == 0


def test_a_twins_near_identical_id_gives_no_bonus(sessions):
    """Twins: same birth date and household, names one character apart, IDs a sequence apart. An ID
    typed for one that is one digit from the other's must not carry the record across."""
    twin_a = make_resident_id("33010219850312001")
    twin_b = make_resident_id("33010219850312003")
    typed = twin_b[:16] + "1" + twin_b[17]  # one digit from twin_a's sequence... with twin_b's check character
    assert not mpi.is_valid_resident_id(typed)
    a = resolve(sessions, "syn001", traits(rid(twin_a), opd("A1"), name="张伟明", sex="1", born="1985-03-12", **HOME))
    b = resolve(sessions, "syn001", traits(rid(twin_b), opd("A2"), name="张伟亮", sex="1", born="1985-03-12", **HOME))
    assert a.person_id != b.person_id
    record = resolve(sessions, "syn002", traits(rid(typed), opd("B1", "syn002"), name="张伟亮", sex="1",
                                                born="1985-03-12", **HOME))
    assert record.person_id == b.person_id  # the names decide, not the near-miss
