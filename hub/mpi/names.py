"""Person names: normal form, toneless pinyin, and the comparison the matcher weighs.

Chinese names are typed through pinyin input methods, so the common error is a homophone
(刘伟 → 刘维): the hanzi differ, the toneless pinyin does not. The pinyin is stored space-separated
per character ("liu wei") so a comparison needs no second conversion.

Pinyin comes from pypinyin's character dictionary, character by character: a name is not a
phrase, and phrase segmentation costs ~40 µs per name against ~2 µs here. A character with
several readings is keyed by its first one (曾 → "ceng"), consistently; two names whose
characters share any reading pairwise still count as homophones (曾 / 增).
"""
from __future__ import annotations

import unicodedata
from enum import IntEnum
from functools import lru_cache

import jellyfish
from pypinyin.pinyin_dict import pinyin_dict


class NameAgreement(IntEnum):
    """How two names compare, strongest first."""

    EXACT = 0       # same characters
    HOMOPHONE = 1   # different characters, same toneless pinyin
    GIVEN_SAME = 2  # only the first (surname) syllable differs: a typo, not a sibling (siblings share it)
    ONE_CHAR = 3    # same length, one given-name character differs in sound (typo, or a twin's name)
    SIMILAR = 4     # pinyin Jaro-Winkler ≥ 0.90 otherwise (dropped or added character)
    DIFFERENT = 5
    MISSING = 6     # one side has no name


@lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """NFKC, no spaces or middle dots for hanzi names; single-spaced upper case for Latin names."""
    text = unicodedata.normalize("NFKC", name).strip()
    if any("\u3400" <= ch <= "\u9fff" for ch in text):
        return "".join(ch for ch in text if not ch.isspace() and ch not in "·•.")
    return " ".join(text.upper().split())


def _toneless(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable).replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=32768)
def readings(char: str) -> tuple[str, ...]:
    """Toneless readings of one character, dictionary order; the character itself if it has none."""
    found = pinyin_dict.get(ord(char))
    if not found:
        return (char.lower(),)
    return tuple(dict.fromkeys(_toneless(r) for r in found.split(",")))


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> str:
    """Toneless pinyin of a normalized name, one syllable per character (first reading), space-separated.

    A Latin-script name gives its lower-cased words.
    """
    if " " in name or not any("\u3400" <= ch <= "\u9fff" for ch in name):
        return " ".join(name.lower().split())
    return " ".join(readings(ch)[0] for ch in name)


def _homophones(name_a: str, name_b: str) -> bool:
    return len(name_a) == len(name_b) and all(
        a == b or set(readings(a)) & set(readings(b)) for a, b in zip(name_a, name_b))


def compare_names(name_a: str | None, pinyin_a: str | None, name_b: str | None, pinyin_b: str | None) -> NameAgreement:
    """Classify two (normalized name, pinyin) pairs."""
    if not name_a or not name_b:
        return NameAgreement.MISSING
    if name_a == name_b:
        return NameAgreement.EXACT
    if pinyin_a == pinyin_b or _homophones(name_a, name_b):
        return NameAgreement.HOMOPHONE
    syllables_a, syllables_b = pinyin_a.split(" "), pinyin_b.split(" ")
    if len(syllables_a) == len(syllables_b) and len(syllables_a) > 1:
        if sum(a != b for a, b in zip(syllables_a, syllables_b)) == 1:
            return NameAgreement.GIVEN_SAME if syllables_a[0] != syllables_b[0] else NameAgreement.ONE_CHAR
    if jellyfish.jaro_winkler_similarity(pinyin_a, pinyin_b) >= 0.90:
        return NameAgreement.SIMILAR
    return NameAgreement.DIFFERENT


__all__ = ["NameAgreement", "normalize_name", "name_pinyin", "compare_names"]
