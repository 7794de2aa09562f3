"""The 18-character citizen identity number (GB 11643-1999): check character, birth date, division.

Layout: 6-digit address code (GB/T 2260 division at issue) + 8-digit birth date (YYYYMMDD) +
3-digit sequence (odd for men, even for women) + check character computed with ISO 7064
MOD 11-2 over the first 17 digits ('X' stands for 10).
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

# OID of the resident identity number in the national health-information OID tree; every
# resident ID is stored under this root whatever root the sender used (the number is national).
RESIDENT_ID_ROOT = "2.16.156.10011.1.3"

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "10X98765432"  # index: weighted sum mod 11
# GB/T 2260 province-level codes, plus 83 (residence permits of Taiwan residents).
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})
_MIN_YEAR = 1880


def normalize_resident_id(value: str) -> str:
    """Canonical spelling: surrounding space removed, a lowercase check 'x' upper-cased."""
    return value.strip().upper()


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def birth_date_of(value: str) -> date | None:
    """The birth date written in a resident ID, or None if it is not a real date."""
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    return born if born.year >= _MIN_YEAR else None


def sex_of(value: str) -> str:
    """GB/T 2261.1 sex code implied by the sequence digit: '1' male (odd), '2' female (even)."""
    return "1" if int(value[16]) % 2 else "2"


def is_valid_resident_id(value: str) -> bool:
    """True for an 18-character resident ID with a right check character, a real birth date and a
    plausible province prefix (no clock is read: any real date from 1880 on passes)."""
    return isinstance(value, str) and _is_valid(normalize_resident_id(value))


@lru_cache(maxsize=65536)  # a person's ID arrives with each of their documents
def _is_valid(value: str) -> bool:
    return _check(value)


def _check(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    if value[:2] not in _PROVINCES:
        return False
    if birth_date_of(value) is None:
        return False
    return check_character(value[:17]) == value[17]


_INVERSE = {w: pow(w, -1, 11) for w in set(_WEIGHTS)}


@lru_cache(maxsize=4096)  # asked up to four times per record (prefetch, candidates, bar, mpi_meant_id)
def near_misses(value: str) -> tuple[str, ...]:
    """The valid resident IDs one character (substitution) or one adjacent transposition away from
    ``value``: the IDs a clerk may have meant when typing an invalid one (MOD 11-2 catches exactly
    these two slips). A substitution has at most one repair per position, so this is ~35 checks."""
    value = normalize_resident_id(value)
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in _CHECK:
        return ()
    found: set[str] = set()
    wanted = _CHECK.index(value[17])
    total = sum(int(c) * w for c, w in zip(value, _WEIGHTS))
    for position, weight in enumerate(_WEIGHTS):  # the one digit here that makes the check right
        digit = (wanted - total + weight * int(value[position])) * _INVERSE[weight] % 11
        if digit < 10 and str(digit) != value[position]:
            found.add(value[:position] + str(digit) + value[position + 1:])
    found.add(value[:17] + check_character(value[:17]))  # the check character itself mistyped
    for position in range(17):
        found.add(value[:position] + value[position + 1] + value[position] + value[position + 2:])
    found.discard(value)
    return tuple(sorted(candidate for candidate in found if _check(candidate)))


def make_resident_id(first17: str) -> str:
    """Complete 17 digits with their check character (used by the synthetic population)."""
    return first17 + check_character(first17)


__all__ = ["RESIDENT_ID_ROOT", "normalize_resident_id", "check_character", "birth_date_of", "sex_of",
           "is_valid_resident_id", "make_resident_id", "near_misses"]
