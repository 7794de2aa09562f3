"""LabReport: one row per test result."""
from __future__ import annotations

from schemas.reader import Reader, parse_datetime

from ..header import DocumentHeader
from . import Normalized, normalizer


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None  # a text result (阴性, 3+ …) keeps only its text


@normalizer("LabReport")
def lab_report(doc, header: DocumentHeader, r: Reader) -> Normalized:
    reported = parse_datetime(r.attr(doc, "body/reportTime"))
    specimen = r.code(doc, "body/specimen")
    rows = []
    for el in r.findall(doc, "body/result"):
        test = r.find(el, "test")
        value = r.text(el, "value") or ""
        reference = r.find(el, "referenceRange")
        rows.append(("record_lab_result", {
            "test_code": test.get("code"), "test_system": test.get("codeSystem"), "test_name": test.get("displayName"),
            "value": value, "numeric_value": _number(value), "unit": r.text(el, "unit"),
            "reference_low": None if reference is None else reference.get("low"),
            "reference_high": None if reference is None else reference.get("high"),
            "abnormal_flag": r.code(el, "abnormalFlag"), "specimen_code": specimen, "reported_at": reported}))
    return Normalized(rows)
