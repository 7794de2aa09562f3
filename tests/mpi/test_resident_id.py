"""GB 11643-1999 resident IDs: check character (ISO 7064 MOD 11-2), birth date, province prefix."""
from __future__ import annotations

from datetime import date

import pytest

from hub.mpi import is_valid_resident_id
from hub.mpi.resident_id import birth_date_of, check_character, sex_of

# SYNTHETIC numbers, check characters computed by hand from the standard's weights.
VALID = ["330102198503120014", "330106199007080025", "33010619900708048X", "11010519491231002X"]


@pytest.mark.parametrize("value", VALID)
def test_valid(value):
    assert is_valid_resident_id(value)


def test_lowercase_x_and_spaces_are_accepted():
    assert is_valid_resident_id("33010619900708048x")
    assert is_valid_resident_id(" 330102198503120014 ")


@pytest.mark.parametrize("value, why", [
    ("330102198503120015", "check digit"),
    ("330106199007080480", "X expected"),
    ("33010619900708048Y", "check character not a digit or X"),
    ("330102198502300013", "30 February"),
    ("330102185003120015", "before 1880"),
    ("990102198503120017", "no such province"),
    ("33010219850312001", "17 characters"),
    ("3301021985031200144", "19 characters"),
    ("33010219850312001A", "letter"),
    ("", "empty"),
])
def test_invalid(value, why):
    assert not is_valid_resident_id(value), why


def test_non_string_is_invalid():
    assert not is_valid_resident_id(None)  # type: ignore[arg-type]


def test_parts():
    assert check_character("11010519491231002") == "X"
    assert birth_date_of("330102198503120014") == date(1985, 3, 12)
    assert sex_of("330102198503120014") == "1" and sex_of("330106199007080025") == "2"


def test_any_single_digit_error_is_caught():
    value = "330102198503120014"
    for position in range(17):
        for digit in "0123456789":
            if digit != value[position]:
                changed = value[:position] + digit + value[position + 1:]
                assert check_character(changed[:17]) != changed[17]
