"""OutpatientVisit (门急诊) and InpatientStay (住院): an encounter with diagnoses and charges."""
from __future__ import annotations

from decimal import Decimal

from schemas.reader import Reader, parse_date, parse_datetime, parse_int

from ..header import DocumentHeader
from . import Normalized, Row, normalizer


def diagnoses(doc, r: Reader, *, at, context: str) -> list[Row]:
    return [("record_diagnosis", {"code": el.get("code"), "code_system": el.get("codeSystem") or "ICD-10",
                                  "display": el.get("displayName"), "is_primary": el.get("primary") == "true",
                                  "diagnosed_at": at, "context": context})
            for el in r.findall(doc, "body/diagnosis")]


def charges(doc, r: Reader, *, at) -> tuple[list[Row], Decimal]:
    rows, total = [], Decimal("0")
    for el in r.findall(doc, "body/charges/charge"):
        amount = Decimal(el.get("amount"))
        total += amount
        rows.append(("record_charge", {"category": el.get("category"), "amount": amount, "charged_at": at}))
    return rows, total


@normalizer("OutpatientVisit")
def outpatient_visit(doc, header: DocumentHeader, r: Reader) -> Normalized:
    start = parse_datetime(r.attr(doc, "body/visitTime"))
    charge_rows, total = charges(doc, r, at=start)
    emergency = r.text(doc, "body/emergency") == "true"
    encounter = ("record_encounter", {
        "kind": "emergency" if emergency else "outpatient", "department_code": r.code(doc, "body/department"),
        "practitioner_code": header.practitioner_code, "start_time": start, "end_time": None, "ward": None,
        "bed_days": None, "discharge_outcome": None, "total_amount": total})
    return Normalized([encounter, *diagnoses(doc, r, at=start, context="OutpatientVisit"), *charge_rows])


@normalizer("InpatientStay")
def inpatient_stay(doc, header: DocumentHeader, r: Reader) -> Normalized:
    start = parse_datetime(r.attr(doc, "body/admissionTime"))
    end_value = r.attr(doc, "body/dischargeTime")
    end = parse_datetime(end_value) if end_value else None
    bed_days = parse_int(r.text(doc, "body/bedDays"))
    if bed_days is None and end is not None:  # 实际占用床日: discharge day not counted, at least one
        bed_days = max(1, (end.date() - start.date()).days)
    charge_rows, total = charges(doc, r, at=end or start)
    encounter = ("record_encounter", {
        "kind": "inpatient", "department_code": r.code(doc, "body/department"),
        "practitioner_code": header.practitioner_code, "start_time": start, "end_time": end,
        "ward": r.text(doc, "body/ward"), "bed_days": bed_days,
        "discharge_outcome": r.code(doc, "body/dischargeOutcome"), "total_amount": total})
    procedures = [("record_procedure", {"code": el.get("code"), "code_system": el.get("codeSystem"),
                                        "display": el.get("displayName"), "performed_on": parse_date(el.get("date"))})
                  for el in r.findall(doc, "body/procedure")]
    return Normalized([encounter, *diagnoses(doc, r, at=start, context="InpatientStay"), *procedures, *charge_rows])
