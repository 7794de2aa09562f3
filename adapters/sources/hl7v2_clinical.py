"""HL7 v2 segments → canonical body values: diagnoses, charges, procedures, lab results, drug lines.

Each function reads one kind of segment group from an ``Hl7Message`` and returns the plain values
``documents.build`` writes. Decisions (which DG1 is principal, where charges come from, which OBX
are skipped) are documented in docs/adapters.md, section "hl7v2".
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from .documents import CHARGE_CATEGORIES
from .hl7v2_message import Hl7Message
from .hl7v2_text import lines
from .values import SourceProblem, decimal_text, iso_date

_ICD10_SYSTEMS = {"", "I10", "ICD10", "ICD-10", "ICD10CN", "ICD-10-CN", "ICD-10 CN", "2.16.156.10011.2.3.3.11"}
_SKIPPED_RESULT_STATUS = {"D", "X", "W"}  # deleted, cannot be obtained, wrong: not results
# ASCII digits only ([0-9], not \d): a decimal attribute holds nothing else. Full-width input (an LIS
# in full-width mode types １~２) is normalized (NFKC) before it is read.
_RANGE = re.compile(r"\s*(-?[0-9]+(?:\.[0-9]+)?)?\s*(?:-|~|～|—)\s*(-?[0-9]+(?:\.[0-9]+)?)?\s*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ONE_LINE_TYPES = {"NM", "DT", "TM", "TS", "DTM", "ID", "IS"}  # a line break cannot be part of these
_BOUND = re.compile(r"\s*(<=?|>=?|≤|≥)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*")


def missing(location: str) -> SourceProblem:
    return SourceProblem("source.hl7.field.missing", "a required field is empty", location)


def diagnoses(message: Hl7Message, *, prefer_final: bool) -> list[dict]:
    """ICD-10 diagnoses from DG1. With ``prefer_final``, final diagnoses (DG1-6 = F) win when any
    exist. DG1-15 = 1 marks the principal one; without any priority, the first DG1 is principal
    (HIS exports list the principal diagnosis first). Other coding systems (TCM, ICD-9) are skipped."""
    rows = [dg1 for dg1 in message.segments("DG1")
            if message.get(dg1, 3, 3).upper().replace(" ", "") in _ICD10_SYSTEMS
            or message.get(dg1, 3, 3).startswith("2.16.156.10011.2.3.3.11")]
    if prefer_final and any(message.get(dg1, 6) == "F" for dg1 in rows):
        rows = [dg1 for dg1 in rows if message.get(dg1, 6) == "F"]
    has_priority = any(message.get(dg1, 15) == "1" for dg1 in rows)
    found = []
    for position, dg1 in enumerate(rows):
        code = message.get(dg1, 3, 1)
        if code:
            found.append({"code": code, "displayName": message.label(dg1, 3, 2)[:200] or None,
                          "primary": message.get(dg1, 15) == "1" if has_priority else position == 0})
    return found[:32]


def charges(message: Hl7Message) -> dict[str, str]:
    """Charges by category: the ``charges.*`` slots when configured (Z-segments), else FT1 lines
    (FT1-11 extended amount, category from FT1-7 via ``codes.charge_category``, default ``other``),
    else PV1-47 total charges as ``other``. Empty when the message carries no charge at all."""
    configured = {}
    for category in CHARGE_CATEGORIES:
        value, location = message.slot(f"charges.{category}")
        if value:
            configured[category] = decimal_text(value, field=location, places=2, code="source.hl7.number.invalid")
    if configured:
        return configured
    totals: dict[str, Decimal] = {}
    for ft1 in message.segments("FT1"):
        amount = message.get(ft1, 11)
        if amount:
            category = message.code("charge_category", message.get(ft1, 7))
            category = category if category in CHARGE_CATEGORIES else "other"
            value = Decimal(decimal_text(amount, field="FT1-11", places=2, code="source.hl7.number.invalid"))
            totals[category] = totals.get(category, Decimal(0)) + value
    if totals:
        return {category: f"{amount:.2f}" for category, amount in totals.items()}
    total, location = message.slot("total_charges")
    return {"other": decimal_text(total, field=location, places=2, code="source.hl7.number.invalid")} if total else {}


def procedures(message: Hl7Message) -> list[dict]:
    """PR1-3 procedure code (any system, e.g. ICD-9-CM-3) and PR1-5 date."""
    found = []
    for pr1 in message.segments("PR1"):
        code = message.get(pr1, 3, 1)
        if code:
            when = message.get(pr1, 5)
            found.append({"code": code, "codeSystem": message.get(pr1, 3, 3) or None,
                          "displayName": message.label(pr1, 3, 2)[:200] or None,
                          "date": iso_date(when, field="PR1-5", code="source.hl7.datetime.invalid") if when else None})
    return found[:64]


def result(message: Hl7Message, obx) -> dict | None:
    """One OBX as a lab result; None for a deleted/unobtainable result or an empty value."""
    if message.get(obx, 11) in _SKIPPED_RESULT_STATUS:
        return None
    value = observation_value(message, obx)
    code = message.get(obx, 3, 1)
    if not value or not code:
        return None
    low, high = _reference_range_of(message, obx)
    flag = message.get(obx, 8)
    return {"test": {"code": code, "codeSystem": message.get(obx, 3, 3) or None,
                     "displayName": message.label(obx, 3, 2)[:200] or None},
            "value": value[:200], "unit": message.get(obx, 6, 1) or message.get(obx, 6, 2),
            "low": low, "high": high,
            "abnormalFlag": message.code("abnormal_flag", flag) if flag else None}


def observation_value(message: Hl7Message, obx) -> str:
    """OBX-5 by its type (OBX-2). HL7 lets OBX-5 repeat for multipart answers: TX / FT repetitions are
    lines (kept as line breaks), CE / CWE repetitions several coded answers (their texts joined by
    "; "). An ST value is the sender's text as typed: an unescaped ``~`` (``0~2`` cells/HP, the Chinese
    range tilde) is kept as ``~``, not split (and an unescaped ``^`` or ``&`` as typed). Any other type (NM, SN, DT, …) is one value, and
    different repetitions of it are ``source.hl7.repetition.ambiguous``."""
    value_type = message.get(obx, 2)
    filled = message.filled_repetitions(obx, 5)
    if value_type in ("CE", "CWE"):
        return "; ".join(message.label(obx, 5, 2, repetition=r) or message.label(obx, 5, 1, repetition=r)
                         for r in filled)
    if value_type in ("TX", "FT"):
        return lines("\n".join(message.text(obx, 5, repetition=r) for r in filled))
    if value_type in ("ST", ""):
        return message.as_typed(obx, 5)
    if value_type == "SN":
        return "".join(message.get(obx, 5, c) for c in (1, 2, 3, 4))
    return message.get(obx, 5) if value_type in _ONE_LINE_TYPES else message.text(obx, 5)


def _reference_range_of(message: Hl7Message, obx) -> tuple[str | None, str | None]:
    """OBX-7 (HL7 2.5: one ST ``low-high``). Chinese LIS write the range with a tilde (``65~85``) and
    do not escape it, so it arrives as two repetitions: read as low and high when both are numbers
    and low ≤ high; with one side empty (``~10``, ``3.5~``) the one bound is kept, as ``<10`` / ``>3.5``
    would be. Any other repetition is ambiguous: ``source.hl7.repetition.ambiguous``."""
    parts = [_ascii(message.get(obx, 7, repetition=r)) for r in range(1, message.repetitions(obx, 7) + 1)]
    if len(parts) == 2 and any(parts) and all(not p or _NUMBER.fullmatch(p) for p in parts):
        low, high = parts
        if not (low and high) or Decimal(low) <= Decimal(high):
            return low or None, high or None
    return reference_range(message.get(obx, 7))  # one value (or several different: ambiguous)


def _ascii(text: str) -> str:
    """Full-width digits, signs and tildes (１~２, －１, ～) as their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def instructions(message: Hl7Message, rxe) -> str:
    """RXE-7 provider's administration instructions (repeating CE): the text of each, one per line."""
    return lines("\n".join(message.text(rxe, 7, 2, repetition=r) or message.text(rxe, 7, 1, repetition=r)
                           for r in message.filled_repetitions(rxe, 7)))


def reference_range(text: str) -> tuple[str | None, str | None]:
    """``3.9-6.1`` / ``3.9~6.1`` → (low, high); ``<5.2`` → (None, 5.2); ``>1`` → (1, None); else none.
    Full-width forms (``３.９－６.１``) are read as ASCII; the bounds returned are ASCII digits only."""
    text = _ascii(text) if text else text
    match = _RANGE.fullmatch(text) if text else None
    if match and (match.group(1) or match.group(2)):
        return match.group(1), match.group(2)
    bound = _BOUND.fullmatch(text) if text else None
    if bound:
        return (None, bound.group(2)) if bound.group(1) in ("<", "<=", "≤") else (bound.group(2), None)
    return None, None


def drug_line(message: Hl7Message, segment, *, drug: int, quantity: int, unit: int) -> dict:
    """The drug, quantity and unit of an RXE or RXD segment (field numbers differ between the two)."""
    name = segment[0]
    code = message.get(segment, drug, 1)
    if not code:
        raise missing(f"{name}-{drug}")
    amount = message.get(segment, quantity)
    if not amount:
        raise missing(f"{name}-{quantity}")
    return {"drug": {"code": message.code("drug", code), "displayName": message.label(segment, drug, 2)[:200] or None},
            "quantity": decimal_text(amount, field=f"{name}-{quantity}", places=3, trim=True, code="source.hl7.number.invalid"),
            "unit": message.get(segment, unit, 2) or message.get(segment, unit, 1)}


__all__ = ["diagnoses", "charges", "procedures", "result", "observation_value", "reference_range", "instructions",
           "drug_line", "missing"]
