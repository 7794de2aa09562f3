"""PersonRegistration, InstitutionMonthlyStats and Cancellation."""
from __future__ import annotations

from decimal import Decimal

from schemas.reader import Reader, parse_decimal, parse_int

from ..header import DocumentHeader
from . import Normalized, normalizer


@normalizer("PersonRegistration")
def person_registration(doc, header: DocumentHeader, r: Reader) -> Normalized:
    """Demographics live in the header: the master patient index takes them; no rows of its own."""
    return Normalized()


@normalizer("InstitutionMonthlyStats")
def institution_stats(doc, header: DocumentHeader, r: Reader) -> Normalized:
    revenue = {"drugs": Decimal("0"), "examinations": Decimal("0"), "treatment": Decimal("0"), "other": Decimal("0")}
    for el in r.findall(doc, "body/revenue"):
        revenue[el.get("category")] += Decimal(el.get("amount"))
    return Normalized([("record_institution_stats", {
        "period": r.attr(doc, "body/period"), "staff_on_duty": parse_int(r.text(doc, "body/staffOnDuty")),
        "approved_beds": parse_int(r.text(doc, "body/approvedBeds")), "open_beds": parse_int(r.text(doc, "body/openBeds")),
        "fixed_assets": parse_decimal(r.text(doc, "body/fixedAssets")),
        "outpatient_visits": parse_int(r.text(doc, "body/outpatientVisits")),
        "inpatient_discharges": parse_int(r.text(doc, "body/inpatientDischarges")),
        **{f"revenue_{category}": amount for category, amount in revenue.items()}})])


@normalizer("Cancellation")
def cancellation(doc, header: DocumentHeader, r: Reader) -> Normalized:
    target = r.find(doc, "body/target")
    return Normalized(cancels=(target.get("root"), target.get("extension")))
