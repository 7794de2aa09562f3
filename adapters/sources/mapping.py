"""The declarative row map shared by the ``csv`` and ``database`` sources.

A clinic's table or export is described, not programmed: which canonical field comes from which
column (or constant), with code translations. Rows that share the configured key columns form one
document (a prescription's lines, a report's results); everything else comes from the group's
first row. Option names and the field list are in docs/adapters.md ("Row maps").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from .base import Quarantine, SourceContext, SourceItem
from .documents import BODY, CHARGE_CATEGORIES, DOCUMENT_ID_ROOT, SUPPORTED_TYPES, Patient, Record, finish
from .values import (DEFAULT_OFFSET, SourceProblem, clean_text, decimal_text, iso_date, iso_datetime, parse_datetime,
                     version_of)

PATIENT_IDS = {"patient.resident_id": "2.16.156.10011.1.3", "patient.health_record_no": "2.16.156.10011.1.2",
               "patient.health_card_no": "2.16.156.10011.1.19", "patient.outpatient_no": "2.16.156.10011.1.11",
               "patient.inpatient_no": "2.16.156.10011.1.12"}
HEADER_FIELDS = ("document_id", "version", "effective_time", "practitioner.code", "practitioner.name",
                 "patient.name", "patient.sex", "patient.birth_date", "patient.telecom", "patient.address",
                 "patient.division", *PATIENT_IDS)
# Per-row list fields of each list kind of body element (documents.BODY).
LIST_FIELDS = {
    "diagnoses": ("code", "display"), "procedures": ("code", "system", "display", "date"),
    "results": ("test", "test.display", "value", "unit", "low", "high", "abnormalFlag"),
    "items": ("drug", "drug.display", "specification", "quantity", "unit", "amount", "batchNumber", "dosage"),
    "contacts": ("name", "relationship", "telecom"),
}
_TRUE = {"1", "true", "t", "y", "yes", "是"}


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
    names = set(HEADER_FIELDS)
    for element, kind in BODY[type_name]:
        if kind in LIST_FIELDS:
            names |= {f"{element}.{part}" for part in LIST_FIELDS[kind]}
        elif kind == "charges":
            names |= {f"charges.{category}" for category in CHARGE_CATEGORIES}
        elif kind == "party":
            names |= {f"{element}.code", f"{element}.name"}
        else:
            names.add(element)
    return names


@dataclass(frozen=True)
class RowMap:
    """A parsed row map (the source's options)."""

    type_name: str
    key: tuple[str, ...]
    fields: Mapping[str, FieldSpec]
    timezone: str
    prefix: str  # "source.csv" or "source.database": the start of every quarantine code

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
        return cls(type_name, key, fields, options.get("timezone", DEFAULT_OFFSET), prefix)

    def columns(self) -> set[str]:
        """Every column the map reads (the query helper and the CSV header check use it)."""
        return set(self.key) | {spec.column for spec in self.fields.values() if spec.column}


def map_rows(rows: Iterable[Mapping[str, Any]], row_map: RowMap, context: SourceContext) -> Iterator[SourceItem]:
    """Group rows by key (first appearance order) and map each group to one document."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for number, row in enumerate(rows, start=1):
        missing_key = [c for c in row_map.key if c not in row]
        values = [clean_text(row.get(c)) for c in row_map.key]
        if missing_key or not all(values):
            code = "column.missing" if missing_key else "key.missing"
            yield SourceItem(key=f"row:{number}", problem=Quarantine(
                f"{row_map.prefix}.{code}", "the key column is absent or empty", "key"))
            continue
        groups.setdefault("|".join(values), []).append(row)
    for key, members in groups.items():
        try:
            version = _version(_Reader(members[0], row_map))
        except SourceProblem as problem:
            yield SourceItem(key=key, problem=Quarantine(problem.code, problem.message, problem.field))
            continue
        # A changed row must not look like the one already sent: the version is part of the key.
        item_key = f"{key}@{version}" if "version" in row_map.fields else key
        yield finish(item_key, lambda members=members, key=key, version=version: _record(members, key, version, row_map),
                     context)


def _version(reader: "_Reader") -> int:
    """A version column may hold a revision counter or a change time (then: seconds since 2000)."""
    version = reader.raw("version")
    if version in (None, ""):
        return 1
    if str(version).strip().isdigit():
        return int(version)
    return version_of(parse_datetime(version, field=reader.where("version"), default_offset=reader.map.timezone,
                                     code=f"{reader.map.prefix}.datetime.invalid"))


class _Reader:
    """Reads canonical fields from one row, with the map's specs and error codes."""

    def __init__(self, row: Mapping[str, Any], row_map: RowMap):
        self.row, self.map = row, row_map

    def raw(self, name: str) -> Any:
        spec = self.map.fields.get(name)
        if spec is None:
            return None
        if spec.column:
            if spec.column not in self.row:
                raise SourceProblem(f"{self.map.prefix}.column.missing", "a mapped column is absent",
                                    f"column {spec.column}")
            value = self.row[spec.column]
        else:
            value = spec.constant
        if value is None or (isinstance(value, str) and not value.strip()):
            value = spec.default
        if isinstance(value, str):
            value = value.strip()
            value = spec.codes.get(value, value)
        return value

    def text(self, name: str) -> str:
        return clean_text(self.raw(name))

    def values(self, name: str) -> list[str]:
        spec = self.map.fields.get(name)
        text = self.text(name)
        parts = text.split(spec.split) if spec and spec.split and text else [text]
        return [spec.codes.get(p.strip(), p.strip()) if spec else p.strip() for p in parts]

    def where(self, name: str) -> str:
        spec = self.map.fields[name]
        return f"column {spec.column}" if spec.column else f"field {name}"

    def time(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value in (None, "") else iso_datetime(
            value, field=self.where(name), default_offset=self.map.timezone, code=f"{self.map.prefix}.datetime.invalid")

    def date(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value in (None, "") else iso_date(value, field=self.where(name),
                                                         code=f"{self.map.prefix}.date.invalid")

    def number(self, name: str, places: int, *, trim: bool = False) -> str | None:
        value = self.raw(name)
        return None if value in (None, "") else decimal_text(
            value, field=self.where(name), places=places, trim=trim, code=f"{self.map.prefix}.number.invalid")


def _record(rows: list[Mapping[str, Any]], key: str, version: int, row_map: RowMap) -> Record:
    first = _Reader(rows[0], row_map)
    effective = first.time("effective_time")
    if not effective:
        raise SourceProblem(f"{row_map.prefix}.field.missing", "a required field is empty", first.where("effective_time"))
    patient = Patient(ids=[(root, first.text(name).upper() if name == "patient.resident_id" else first.text(name))
                           for name, root in PATIENT_IDS.items() if first.text(name)],
                      name=first.text("patient.name"), sex=first.text("patient.sex"),
                      birth_date=first.date("patient.birth_date") or "", telecom=first.text("patient.telecom"),
                      address=first.text("patient.address"), division=first.text("patient.division"))
    code = first.text("practitioner.code")
    body = {element: _body_value(element, kind, first, [_Reader(r, row_map) for r in rows])
            for element, kind in BODY[row_map.type_name]}
    document_id = first.text("document_id") or "-".join(key.split("|"))
    return Record(row_map.type_name, "_".join(document_id.split()), version, effective, patient, body,
                  (code, first.text("practitioner.name")) if code else None)


def _body_value(element: str, kind: str, first: _Reader, readers: list[_Reader]) -> Any:
    if kind == "time":
        return first.time(element)
    if kind == "coded":
        return first.text(element)
    if kind == "text":
        value = first.text(element)
        return ("true" if value.lower() in _TRUE else "false") if element in ("emergency",) and value else value
    if kind == "party":
        code = first.text(f"{element}.code")
        return (code, first.text(f"{element}.name")) if code else None
    if kind == "identifier":
        return (DOCUMENT_ID_ROOT, first.text(element)) if first.text(element) else None
    if kind == "charges":
        return {c: first.number(f"charges.{c}", 2) for c in CHARGE_CATEGORIES if first.number(f"charges.{c}", 2)}
    entries = [entry for reader in readers for entry in _LIST_READERS[kind](element, reader)]
    if kind == "diagnoses" and entries:
        entries[0]["primary"] = True  # the export's first diagnosis is the principal one
    return entries


def _diagnoses(element: str, reader: _Reader) -> list[dict]:
    codes, names = reader.values(f"{element}.code"), reader.values(f"{element}.display")
    return [{"code": code, "displayName": names[i] if i < len(names) and names[i] else None}
            for i, code in enumerate(codes) if code]


def _one(builder):
    """A list reader for kinds with one entry per row (skipped when its first field is empty)."""
    def read(element: str, reader: _Reader) -> list[dict]:
        entry = builder(element, reader)
        return [entry] if entry else []
    return read


_LIST_READERS = {
    "diagnoses": _diagnoses,
    "procedures": _one(lambda e, r: r.text(f"{e}.code") and {
        "code": r.text(f"{e}.code"), "codeSystem": r.text(f"{e}.system") or None,
        "displayName": r.text(f"{e}.display") or None, "date": r.date(f"{e}.date")}),
    "results": _one(lambda e, r: r.text(f"{e}.test") and {
        "test": {"code": r.text(f"{e}.test"), "displayName": r.text(f"{e}.test.display") or None},
        "value": r.text(f"{e}.value"), "unit": r.text(f"{e}.unit"), "low": r.number(f"{e}.low", 4, trim=True),
        "high": r.number(f"{e}.high", 4, trim=True), "abnormalFlag": r.text(f"{e}.abnormalFlag") or None}),
    "items": _one(lambda e, r: r.text(f"{e}.drug") and {
        "drug": {"code": r.text(f"{e}.drug"), "displayName": r.text(f"{e}.drug.display") or None},
        "specification": r.text(f"{e}.specification"), "quantity": r.number(f"{e}.quantity", 3, trim=True),
        "unit": r.text(f"{e}.unit"), "amount": r.number(f"{e}.amount", 2), "batchNumber": r.text(f"{e}.batchNumber"),
        "dosage": r.text(f"{e}.dosage")}),
    "contacts": _one(lambda e, r: r.text(f"{e}.name") and {
        "name": r.text(f"{e}.name"), "relationship": r.text(f"{e}.relationship") or None,
        "telecom": r.text(f"{e}.telecom")}),
}


__all__ = ["FieldSpec", "RowMap", "map_rows", "allowed_fields", "PATIENT_IDS", "HEADER_FIELDS", "LIST_FIELDS"]
