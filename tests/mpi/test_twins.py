"""Twins and a mistyped resident ID (issue 23): an ID typed for one twin that is one slip from the OTHER
twin's valid ID must not carry the record onto the other twin while the typist's own twin is not indexed
yet. SYNTHETIC twins (generated IDs, invented names; see conftest)."""
from __future__ import annotations

from hub import mpi
from hub.mpi import matching
from hub.mpi.matching import Demographics, names_agree
from hub.mpi.resident_id import make_resident_id, near_misses

from .conftest import opd, rid, traits
from .test_resolve import HOME, resolve

# Twins share the birth date, home, phone and surname; their IDs differ only in the sequence code.
ELDER = make_resident_id("33010220150312001")    # 张子涵, boy
YOUNGER = make_resident_id("33010220150312003")  # 张子晗, boy: the same reading, zi han
BORN = "2015-03-12"
# The younger twin's ID with its sequence digit slipped 3 → 1: the check character is now wrong, and the
# value is one slip from the elder's ID too (only the check character differs).
TYPED = YOUNGER[:16] + "1" + YOUNGER[17]


def test_the_typed_id_is_one_slip_from_both_twins():
    assert not mpi.is_valid_resident_id(TYPED)
    assert {ELDER, YOUNGER} <= set(near_misses(TYPED))


def test_a_twins_mistyped_id_does_not_link_the_other_twin_who_alone_is_indexed(sessions):
    """Homophone given names (one character apart) count as agreeing names: 31 points of demographics
    plus the near-miss bonus used to auto-link the younger twin's record onto the elder."""
    elder = resolve(sessions, "syn001", traits(rid(ELDER), opd("A1"), name="张子涵", sex="1", born=BORN, **HOME))
    younger = resolve(sessions, "syn002", traits(rid(TYPED), opd("B1", "syn002"), name="张子晗", sex="1", born=BORN,
                                                 **HOME))
    assert younger.person_id != elder.person_id, f"the younger twin's record is on the elder's ({younger.decision})"
    assert younger.decision == "review"  # a person decides: the pair is offered, never linked


def test_the_elder_twins_own_slip_still_links(sessions):
    """The same slip typed with the elder's own name (same given name) is the elder's record."""
    elder = resolve(sessions, "syn001", traits(rid(ELDER), opd("A1"), name="张子涵", sex="1", born=BORN, **HOME))
    again = resolve(sessions, "syn002", traits(rid(ELDER[:16] + "5" + ELDER[17]), opd("B1", "syn002"), name="张子涵",
                                               sex="1", born=BORN, **HOME))
    assert (again.decision, again.person_id) == ("auto", elder.person_id)


def test_the_bonus_needs_the_same_given_name_and_an_id_that_fits_the_record():
    """Names that differ by one character get no near-miss bonus, even as homophones (the code's
    ``names_agree`` accepts them); nor does a meant ID whose own sex or birth-date digits contradict the
    record. A surname typed as a homophone (章/张) keeps it: twins share the surname."""
    record = Demographics(name="张子晗", pinyin="zhang zi han", sex="1", birth_date=BORN)
    elder = Demographics(name="张子涵", pinyin="zhang zi han", sex="1", birth_date=BORN)
    assert names_agree(record, elder) and matching.near_miss_bonus(record, elder, ELDER) == 0
    surname_typo = record._replace(name="章子涵")
    assert matching.near_miss_bonus(surname_typo, elder, ELDER) == matching.ID_NEAR_MISS
    assert matching.near_miss_bonus(surname_typo._replace(sex="2"), elder, ELDER) == 0  # ELDER's digits say male
    assert matching.near_miss_bonus(surname_typo._replace(birth_date="1990-07-08"), elder, ELDER) == 0


def test_in_the_other_order_the_elder_twins_record_does_not_link_onto_the_younger(sessions):
    """The younger twin's mistyped record first (a person of its own), then the elder's with his valid ID:
    the demographics alone (31) would put the elder, and his ID, on the younger's person."""
    younger = resolve(sessions, "syn002", traits(rid(TYPED), opd("B1", "syn002"), name="张子晗", sex="1", born=BORN,
                                                 **HOME))
    elder = resolve(sessions, "syn001", traits(rid(ELDER), opd("A1"), name="张子涵", sex="1", born=BORN, **HOME))
    assert elder.person_id != younger.person_id, f"the elder twin's record is on the younger's ({elder.decision})"
    assert elder.decision == "review"
    with sessions() as session:
        assert mpi.current_person_id(session, younger.person_id) == younger.person_id  # not merged either
