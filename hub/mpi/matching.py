"""Probabilistic record comparison (Fellegi–Sunter style): pure functions, no database.

Each field comparison adds a weight, roughly log2(m/u): m the chance that two records of the
same person show the outcome, u the chance for two different people. The sum is the score.
The weights below are set by hand from those odds and checked against the synthetic population
(``bench/mpi.py``; ``docs/mpi.md`` has the measured precision and recall).

Guards that no score can override: two different resident IDs never auto-link, nor a person holding
an ID that the probe's invalid one cannot be a slip of (``rank(meant=…)``); and a name that
differs in one sounded character (a twin's or sibling's name, or a non-homophone typo) scores so
low that birth date, address and phone together cannot lift it to the auto-link threshold.
"""
from __future__ import annotations

import unicodedata
from datetime import date
from dataclasses import dataclass
from typing import NamedTuple

import jellyfish

from .names import NameAgreement, compare_names
from .resident_id import birth_date_of, sex_of

AUTO_LINK_THRESHOLD = 19.0
REVIEW_THRESHOLD = 11.0
# The probe's resident ID fails its check and is one typo (a digit, or two adjacent swapped) away from
# the ID the candidate holds: strong evidence, counted only when the given names are the same
# (``near_miss_bonus``), so a twin's or sibling's near-identical ID never carries them over the threshold.
# Measured on the synthetic population (bench/mpi.py, docs/mpi.md): no wrong link at this weight.
ID_NEAR_MISS = 6.0
_NAMES_AGREE = frozenset({NameAgreement.EXACT, NameAgreement.HOMOPHONE, NameAgreement.GIVEN_SAME})

NAME_WEIGHTS = {
    NameAgreement.EXACT: 10.0, NameAgreement.HOMOPHONE: 9.0, NameAgreement.GIVEN_SAME: 5.0, NameAgreement.ONE_CHAR: -8.0,
    NameAgreement.SIMILAR: -6.0, NameAgreement.DIFFERENT: -14.0, NameAgreement.MISSING: 0.0,
}
BIRTH_EXACT, BIRTH_SWAPPED, BIRTH_ONE_FIELD, BIRTH_DIFFERENT = 9.0, 7.0, 3.0, -10.0
SEX_AGREE, SEX_DIFFERENT = 1.0, -5.0
PHONE_AGREE, PHONE_DIFFERENT = 7.0, -1.0  # phones change: disagreement is weak evidence
DIVISION_AGREE, DIVISION_SAME_CITY, DIVISION_DIFFERENT = 2.0, 1.0, -1.0
ADDRESS_EXACT, ADDRESS_SIMILAR, ADDRESS_DIFFERENT = 3.0, 2.0, -1.0
_KNOWN_SEX = frozenset({"1", "2"})


class Demographics(NamedTuple):
    """Normalized demographics of one record; ``birth_date`` as ISO text 'YYYY-MM-DD'."""

    name: str | None = None
    pinyin: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    division: str | None = None
    address: str | None = None
    resident_id: str | None = None


def normalize_phone(phone: str | None) -> str | None:
    """Digits only, without the +86 / 0086 country prefix."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix):]
    return digits or None


def normalize_address(address: str | None) -> str | None:
    if not address:
        return None
    text = "".join(unicodedata.normalize("NFKC", address).split())
    return text or None


def swapped_birth_date(iso: str) -> str | None:
    """The birth date with day and month swapped, where that is another real date ('YYYY-MM-DD')."""
    month, day = int(iso[5:7]), int(iso[8:10])
    if month == day or day > 12:
        return None
    try:
        return date(int(iso[:4]), day, month).isoformat()
    except ValueError:
        return None


def compare_birth_dates(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return BIRTH_EXACT
    year_a, month_a, day_a = a[:4], a[5:7], a[8:10]
    year_b, month_b, day_b = b[:4], b[5:7], b[8:10]
    if year_a == year_b and month_a == day_b and day_a == month_b:
        return BIRTH_SWAPPED
    if (year_a != year_b) + (month_a != month_b) + (day_a != day_b) == 1:
        return BIRTH_ONE_FIELD
    return BIRTH_DIFFERENT


def score(probe: Demographics, other: Demographics) -> float:
    """Sum of field weights comparing two records (higher: more likely the same person)."""
    total = NAME_WEIGHTS[compare_names(probe.name, probe.pinyin, other.name, other.pinyin)]
    total += compare_birth_dates(probe.birth_date, other.birth_date)
    if probe.sex in _KNOWN_SEX and other.sex in _KNOWN_SEX:
        total += SEX_AGREE if probe.sex == other.sex else SEX_DIFFERENT
    if probe.phone and other.phone:
        total += PHONE_AGREE if probe.phone == other.phone else PHONE_DIFFERENT
    if probe.division and other.division:
        if probe.division == other.division:
            total += DIVISION_AGREE
        else:
            total += DIVISION_SAME_CITY if probe.division[:4] == other.division[:4] else DIVISION_DIFFERENT
    if probe.address and other.address:
        if probe.address == other.address:
            total += ADDRESS_EXACT
        elif jellyfish.jaro_winkler_similarity(probe.address, other.address) >= 0.9:
            total += ADDRESS_SIMILAR
        else:
            total += ADDRESS_DIFFERENT
    return total


def names_agree(probe: Demographics, other: Demographics) -> bool:
    """Exact, homophone or same given name (a twin's one-character difference does not agree)."""
    return compare_names(probe.name, probe.pinyin, other.name, other.pinyin) in _NAMES_AGREE


def contradicts_its_id(probe: Demographics) -> bool:
    """The probe's valid resident ID says another person: its birth-date digits differ from the record's
    beyond one slip (not one field, not day/month swapped) or its sex digit differs from the record's sex.
    One typo in ten of an ID gives another valid ID (MOD 11-2 catches only the others)."""
    value = probe.resident_id
    if not value:
        return False
    # the everyday ID agrees with its record's birth date: no date to build and compare (bench.records)
    if probe.birth_date and probe.birth_date.replace("-", "") != value[6:14]:
        born = birth_date_of(value)
        if born is not None and compare_birth_dates(born.isoformat(), probe.birth_date) == BIRTH_DIFFERENT:
            return True
    return probe.sex in _KNOWN_SEX and probe.sex != sex_of(value)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person the probe may belong to, with its best record score and whether auto-link is barred."""

    person_id: int
    score: float
    barred: bool  # the person holds a different resident ID


def rank(probe: Demographics, records: list[tuple[int, Demographics]],
         resident_ids: dict[int, set[str]], *, meant: frozenset[str] | None = None) -> list[Candidate]:
    """Best score per person over the blocked records, highest first.

    ``records`` are (current person id, demographics); ``resident_ids`` maps a person to the
    resident IDs it already holds. ``meant``: for a probe whose only resident IDs are invalid, the
    valid IDs one slip away (``near_misses``); a person holding none of them is barred like one
    holding a different ID (a namesake's or twin's mistyped ID is not this person's).
    """
    best: dict[int, float] = {}
    for person_id, other in records:
        value = score(probe, other)
        if value > best.get(person_id, float("-inf")):
            best[person_id] = value
    candidates = []
    for person_id, value in best.items():
        held = resident_ids.get(person_id, ())
        barred = bool(probe.resident_id and held and probe.resident_id not in held)
        barred = barred or bool(meant is not None and held and not meant.intersection(held))
        candidates.append(Candidate(person_id, value, barred))
    candidates.sort(key=lambda c: (-c.score, c.person_id))
    return candidates


def same_given_name(probe: Demographics, other: Demographics) -> bool:
    """The same name, or one whose characters after the first (the surname) are the same: a surname typed
    as a homophone (章/张) is a typo, while twins and siblings share the surname and differ in the given name
    (张子涵 / 张子晗 are homophones, which ``names_agree`` accepts, but two names)."""
    a, b = probe.name, other.name
    return bool(a and b) and (a == b or (len(a) == len(b) > 1 and a[1:] == b[1:] and names_agree(probe, other)))


def sibling_slip(typed: str, meant: str) -> bool:
    """``typed`` differs from ``meant`` only in the sequence code or check character (positions 15–18):
    where the IDs of two people born the same day in the same place (twins) differ, so ``typed`` may as
    well be a slip of the sibling's ID."""
    return typed[:14] == meant[:14]


def near_miss_bonus(probe: Demographics, holder: Demographics, meant: str) -> float:
    """What a probe's invalid ID one slip from ``meant`` (held by ``holder``) adds: ``ID_NEAR_MISS`` when the
    given names are the same and ``meant``'s own birth-date and sex digits do not contradict the record."""
    if not same_given_name(probe, holder) or contradicts_its_id(probe._replace(resident_id=meant)):
        return 0.0
    return ID_NEAR_MISS


class NearMiss(NamedTuple):
    """A person holding a valid resident ID (``meant``) one slip from the probe's invalid ``typed`` one."""

    golden: Demographics
    meant: str
    typed: str


def with_near_misses(probe: Demographics, candidates: list[Candidate],
                     near: dict[int, NearMiss]) -> list[Candidate]:
    """``candidates`` with the persons whose valid resident ID the probe's invalid one nearly is
    (``near``: person id → golden record and IDs): those found by blocking gain ``near_miss_bonus``; the
    others join, scored on their golden record, on the same terms. A holder whose given name differs is
    barred when the slip lies where a twin's ID differs (``sibling_slip``): the typist's own twin may not be
    indexed yet."""
    if not near:
        return candidates
    ranked = {c.person_id: c for c in candidates}
    for person_id, (other, meant, typed) in near.items():
        candidate = ranked.get(person_id) or Candidate(person_id, score(probe, other), False)
        barred = candidate.barred or (sibling_slip(typed, meant) and not same_given_name(probe, other))
        ranked[person_id] = Candidate(person_id, candidate.score + near_miss_bonus(probe, other, meant), barred)
    return sorted(ranked.values(), key=lambda c: (-c.score, c.person_id))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a probe: link to ``person_id`` (auto), or new person + reviews."""

    person_id: int | None
    score: float | None
    review: tuple[Candidate, ...] = ()


def decide(candidates: list[Candidate], *, auto: float = AUTO_LINK_THRESHOLD,
           review: float = REVIEW_THRESHOLD, max_reviews: int = 3) -> Verdict:
    """Auto-link only to a sole, unbarred candidate at or above ``auto``; queue the plausible rest.

    Two persons both at or above ``auto`` (e.g. persons split by an unmerge) make the probe
    ambiguous: it goes to review rather than silently picking one.
    """
    plausible = [c for c in candidates if c.score >= review]
    linkable = [c for c in plausible if c.score >= auto and not c.barred]
    above = [c for c in plausible if c.score >= auto]
    if len(linkable) == 1 and len(above) == 1:
        return Verdict(linkable[0].person_id, linkable[0].score)
    best = plausible[0].score if plausible else (candidates[0].score if candidates else None)
    return Verdict(None, best, tuple(plausible[:max_reviews]))


__all__ = ["swapped_birth_date", "AUTO_LINK_THRESHOLD", "REVIEW_THRESHOLD", "ID_NEAR_MISS", "with_near_misses", "Demographics", "Candidate",
           "Verdict", "normalize_phone", "normalize_address", "compare_birth_dates", "score", "rank", "decide",
           "names_agree", "contradicts_its_id", "same_given_name", "sibling_slip", "near_miss_bonus", "NearMiss"]
