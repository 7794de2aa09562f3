"""Person names: normal form, toneless pinyin, and the comparison the matcher weighs.

Chinese names are typed through pinyin input methods, so the common error is a homophone
(刘伟 → 刘维): the hanzi differ, the toneless pinyin does not. The pinyin is stored space-separated
per character ("liu wei") so a comparison needs no second conversion.
"""
from __future__ import annotations

import unicodedata
from enum import IntEnum
from functools import lru_cache

import jellyfish
from pypinyin import Style, lazy_pinyin


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


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> str:
    """Toneless pinyin of a normalized name, one syllable per character, space-separated."""
    syllables: list[str] = []
    for part in lazy_pinyin(name, style=Style.NORMAL, errors="default"):
        syllables.extend(part.lower().replace("ü", "v").split())
    return " ".join(syllables)


def compare_names(name_a: str | None, pinyin_a: str | None, name_b: str | None, pinyin_b: str | None) -> NameAgreement:
    """Classify two (normalized name, pinyin) pairs."""
    if not name_a or not name_b:
        return NameAgreement.MISSING
    if name_a == name_b:
        return NameAgreement.EXACT
    if pinyin_a == pinyin_b:
        return NameAgreement.HOMOPHONE
    syllables_a, syllables_b = pinyin_a.split(" "), pinyin_b.split(" ")
    if len(syllables_a) == len(syllables_b) and len(syllables_a) > 1:
        if sum(a != b for a, b in zip(syllables_a, syllables_b)) == 1:
            return NameAgreement.GIVEN_SAME if syllables_a[0] != syllables_b[0] else NameAgreement.ONE_CHAR
    if jellyfish.jaro_winkler_similarity(pinyin_a, pinyin_b) >= 0.90:
        return NameAgreement.SIMILAR
    return NameAgreement.DIFFERENT


__all__ = ["NameAgreement", "normalize_name", "name_pinyin", "compare_names"]
