"""A parsed row map: which canonical field comes from which column (or constant), per document type.

The ``csv`` and ``database`` sources read one from their options (``RowMap.from_options``);
``row_fields`` reads rows with it and ``mapping`` groups rows into documents. Field names are
the header's, the patient's and those of the type's body (``KIND_FIELDS`` per body kind).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .bodies import BODY, CHARGE_CATEGORIES, NO_PATIENT, SUPPORTED_TYPES
from .values import DEFAULT_OFFSET

# Row-map field names of each kind, as suffixes of the element name ("" = the element name itself).
_CATEGORIES = tuple(CHARGE_CATEGORIES)
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    **{kind: ("",) for kind in ("time", "date", "month", "coded", "text", "count", "measure", "amount", "boolean",
                                "identifier")},
    "party": ("code", "name"), "address": ("", "division"), "pressure": ("systolic", "diastolic"),
    "holder": ("code", "name", "kind"), "charges": _CATEGORIES, "revenue": _CATEGORIES,
    # list kinds: one entry per row (split cells for diagnoses)
    "diagnoses": ("code", "display"), "procedures": ("code", "system", "display", "date"),
    "results": ("test", "test.display", "value", "unit", "low", "high", "abnormalFlag"),
    "items": ("drug", "drug.display", "specification", "quantity", "unit", "amount", "batchNumber", "dosage"),
    "stock_items": ("drug", "drug.display", "specification", "batchNumber", "expiryDate", "quantity", "unit",
                    "amount"),
    "contacts": ("name", "relationship", "telecom"),
}


def body_fields(type_name: str) -> set[str]:
    """Every row-map field name the body of ``type_name`` reads."""
    return {f"{element}.{suffix}" if suffix else element
            for element, kind in BODY[type_name] for suffix in KIND_FIELDS[kind]}


PATIENT_IDS = {"patient.resident_id": "2.16.156.10011.1.3", "patient.health_record_no": "2.16.156.10011.1.2",
               "patient.health_card_no": "2.16.156.10011.1.19", "patient.outpatient_no": "2.16.156.10011.1.11",
               "patient.inpatient_no": "2.16.156.10011.1.12"}
HEADER_FIELDS = ("document_id", "version", "effective_time", "practitioner.code", "practitioner.name")
PATIENT_FIELDS = ("patient.name", "patient.sex", "patient.birth_date", "patient.telecom", "patient.address",
                  "patient.division", *PATIENT_IDS)


@dataclass(frozen=True)
class FieldSpec:
    """Where one canonical field comes from: a column or a constant, then translations."""

    column: str = ""
    constant: Any = None
    codes: Mapping[str, str] = field(default_factory=dict)
    default: Any = None
    split: str = ""  # several values in one cell (list fields only), e.g. "I10;E11.9"

    @classmethod
    def parse(cls, spec: Any) -> "FieldSpec":
        if isinstance(spec, str):
            return cls(column=spec)
        if not isinstance(spec, Mapping) or ("column" in spec) == ("constant" in spec):
            raise ValueError("a field is a column name or a table with exactly one of column / constant")
        return cls(column=spec.get("column", ""), constant=spec.get("constant"), codes=dict(spec.get("codes", {})),
                   default=spec.get("default"), split=spec.get("split", ""))


def allowed_fields(type_name: str) -> set[str]:
    """The row-map field names of a document type (institution documents have no patient fields)."""
    patient = () if type_name in NO_PATIENT else PATIENT_FIELDS
    return {*HEADER_FIELDS, *patient} | body_fields(type_name)


@dataclass(frozen=True)
class RowMap:
    """A parsed row map (the source's options)."""

    type_name: str
    key: tuple[str, ...]
    fields: Mapping[str, FieldSpec]
    timezone: str
    prefix: str  # "source.csv" or "source.database": the start of every quarantine code
    id_prefix: str = ""  # before the default document id, e.g. "STAT-": keeps row keys of two maps apart

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, prefix: str) -> "RowMap":
        type_name = options.get("document", "")
        if type_name not in SUPPORTED_TYPES:
            raise ValueError(f"row map: document must be one of {', '.join(sorted(SUPPORTED_TYPES))}")
        key = options.get("key") or ()
        key = (key,) if isinstance(key, str) else tuple(key)
        fields = {name: FieldSpec.parse(spec) for name, spec in dict(options.get("fields", {})).items()}
        unknown = sorted(set(fields) - allowed_fields(type_name))
        if not key or unknown or "effective_time" not in fields:
            raise ValueError(f"row map: key and fields.effective_time are required; unknown fields: {unknown}")
        return cls(type_name, key, fields, options.get("timezone", DEFAULT_OFFSET), prefix,
                   str(options.get("id_prefix", "")))

    def columns(self) -> set[str]:
        """Every column the map reads (the query helper and the CSV header check use it)."""
        return set(self.key) | {spec.column for spec in self.fields.values() if spec.column}


__all__ = ["FieldSpec", "RowMap", "allowed_fields", "body_fields", "KIND_FIELDS", "PATIENT_IDS", "HEADER_FIELDS",
           "PATIENT_FIELDS"]
