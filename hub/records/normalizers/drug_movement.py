"""DrugMovement: batches received, transferred or returned (drug traceability; no person)."""
from __future__ import annotations

from schemas.reader import Reader, parse_date, parse_datetime, parse_decimal

from ..header import DocumentHeader
from . import Normalized, normalizer


@normalizer("DrugMovement")
def drug_movement(doc, header: DocumentHeader, r: Reader) -> Normalized:
    source, target = r.find(doc, "body/from"), r.find(doc, "body/to")
    common = {"movement_type": r.code(doc, "body/movementType"), "moved_at": parse_datetime(r.attr(doc, "body/movementTime")),
              "from_code": source.get("code"), "from_kind": source.get("kind"),
              "to_code": target.get("code"), "to_kind": target.get("kind")}
    rows = []
    for el in r.findall(doc, "body/item"):
        rows.append(("record_drug_movement", {
            **common, "drug_code": r.code(el, "drug"), "batch_number": r.text(el, "batchNumber"),
            "expiry_date": parse_date(r.attr(el, "expiryDate")), "quantity": parse_decimal(r.text(el, "quantity")),
            "unit": r.text(el, "unit"), "amount": parse_decimal(r.text(el, "amount"))}))
    return Normalized(rows)
