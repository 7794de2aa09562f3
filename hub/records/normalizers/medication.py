"""Prescription (处方) and Dispense (发药): one row per drug line."""
from __future__ import annotations

from schemas.reader import Reader, parse_datetime, parse_decimal

from ..header import DocumentHeader
from . import Normalized, normalizer
from .encounters import diagnoses


def _items(doc, r: Reader, *, kind: str, at) -> list:
    rows = []
    for el in r.findall(doc, "body/item"):
        drug = r.find(el, "drug")
        rows.append(("record_medication", {
            "kind": kind, "drug_code": drug.get("code"), "drug_name": drug.get("displayName"),
            "specification": r.text(el, "specification"), "quantity": parse_decimal(r.text(el, "quantity")),
            "unit": r.text(el, "unit"), "amount": parse_decimal(r.text(el, "amount")),
            "batch_number": r.text(el, "batchNumber"), "dosage": r.text(el, "dosage"), "at": at}))
    return rows


@normalizer("Prescription")
def prescription(doc, header: DocumentHeader, r: Reader) -> Normalized:
    at = parse_datetime(r.attr(doc, "body/prescriptionTime"))
    return Normalized([*_items(doc, r, kind="prescription", at=at),
                       *diagnoses(doc, r, at=at, context="Prescription")])


@normalizer("Dispense")
def dispense(doc, header: DocumentHeader, r: Reader) -> Normalized:
    return Normalized(_items(doc, r, kind="dispense", at=parse_datetime(r.attr(doc, "body/dispenseTime"))))
