"""Pure scoring: names (hanzi, homophones, one character), birth dates, and the auto-link guards."""
from __future__ import annotations

from hub.mpi.matching import (AUTO_LINK_THRESHOLD, REVIEW_THRESHOLD, Candidate, Demographics, compare_birth_dates,
                              decide, rank, score)
from hub.mpi.names import NameAgreement, compare_names, name_pinyin, normalize_name


def person(name, born="1985-03-12", sex="1", phone="10000000001", division="330102", address="合成一路1号1栋101室",
           resident_id=None) -> Demographics:
    name = normalize_name(name)
    return Demographics(name, name_pinyin(name), sex, born, phone, division, address, resident_id)


def test_name_forms():
    assert normalize_name(" 张 伟 ") == "张伟"
    assert name_pinyin("张伟") == "zhang wei"
    assert name_pinyin("吕") == "lv"
    assert name_pinyin(normalize_name("john  smith")) == "john smith"


def test_name_agreement():
    def cmp(a, b):
        return compare_names(a, a and name_pinyin(a), b, b and name_pinyin(b))
    assert cmp("张伟", "张伟") is NameAgreement.EXACT
    assert cmp("刘伟", "刘维") is NameAgreement.HOMOPHONE
    assert cmp("曾伟", "增伟") is NameAgreement.HOMOPHONE  # 曾 has the reading zeng too
    assert cmp("李明华", "李明丽") is NameAgreement.ONE_CHAR
    assert cmp("李明华", "吴明华") is NameAgreement.GIVEN_SAME
    assert cmp("张伟", "王芳") is NameAgreement.DIFFERENT
    assert cmp("张伟", None) is NameAgreement.MISSING


def test_birth_dates():
    assert compare_birth_dates("1985-03-12", "1985-03-12") > compare_birth_dates("1985-03-12", "1985-12-03") > 0
    assert compare_birth_dates("1985-03-12", "1986-03-12") > 0  # one field
    assert compare_birth_dates("1985-03-12", "1990-07-08") < 0


def test_typos_reach_auto_link():
    base = person("刘伟")
    assert score(person("刘维"), base) >= AUTO_LINK_THRESHOLD                     # homophone
    assert score(person("刘伟", born="1985-12-03"), base) >= AUTO_LINK_THRESHOLD  # day/month swapped
    assert score(person("刘伟", phone=None, address=None), base) >= AUTO_LINK_THRESHOLD


def test_twins_never_reach_auto_link():
    """Same birth date, household, phone, surname; one given-name character differs."""
    assert score(person("李明丽"), person("李明华")) < AUTO_LINK_THRESHOLD
    assert score(person("李明丽", sex="2"), person("李明华")) < REVIEW_THRESHOLD


def test_family_sharing_a_phone_is_far_apart():
    assert score(person("王芳", born="1960-01-05", sex="2"), person("张伟")) < REVIEW_THRESHOLD
    assert score(person("张小伟", born="2010-05-05"), person("张伟")) < REVIEW_THRESHOLD


def test_different_resident_id_bars_auto_link():
    probe = person("刘伟", resident_id="330102198503120014")
    candidates = rank(probe, [(7, person("刘伟"))], {7: {"330106199007080025"}})
    assert candidates[0].barred
    verdict = decide(candidates)
    assert verdict.person_id is None and [c.person_id for c in verdict.review] == [7]


def test_two_persons_above_threshold_go_to_review():
    verdict = decide([Candidate(1, 30.0, False), Candidate(2, 29.0, False)])
    assert verdict.person_id is None and {c.person_id for c in verdict.review} == {1, 2}
    assert decide([Candidate(1, 30.0, False), Candidate(2, 12.0, False)]).person_id == 1
