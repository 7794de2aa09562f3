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
from .bodies import NO_PATIENT, SUPPORTED_TYPES
from .documents import Patient, Record, finish
from .row_fields import RowReader, body_fields, read_body
from .values import DEFAULT_OFFSET, SourceProblem, clean_text, parse_datetime, version_of

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
            version = _version(RowReader(members[0], row_map))
        except SourceProblem as problem:
            yield SourceItem(key=key, problem=Quarantine(problem.code, problem.message, problem.field))
            continue
        # A changed row must not look like the one already sent: the version is part of the key.
        item_key = f"{key}@{version}" if "version" in row_map.fields else key
        yield finish(item_key, lambda members=members, key=key, version=version: _record(members, key, version, row_map),
                     context)


def _version(reader: RowReader) -> int:
    """A version column may hold a revision counter or a change time (then: seconds since 2000)."""
    version = reader.raw("version")
    if version in (None, ""):
        return 1
    if str(version).strip().isdigit():
        return int(version)
    return version_of(parse_datetime(version, field=reader.where("version"), default_offset=reader.map.timezone,
                                     code=f"{reader.map.prefix}.datetime.invalid"))


def _record(rows: list[Mapping[str, Any]], key: str, version: int, row_map: RowMap) -> Record:
    readers = [RowReader(row, row_map) for row in rows]
    first = readers[0]
    effective = first.time("effective_time")
    if not effective:
        raise SourceProblem(f"{row_map.prefix}.field.missing", "a required field is empty", first.where("effective_time"))
    patient = Patient(ids=[(root, first.text(name).upper() if name == "patient.resident_id" else first.text(name))
                           for name, root in PATIENT_IDS.items() if first.text(name)],
                      name=first.text("patient.name"), sex=first.text("patient.sex"),
                      birth_date=first.date("patient.birth_date") or "", telecom=first.text("patient.telecom"),
                      address=first.text("patient.address"), division=first.text("patient.division"))
    code = first.text("practitioner.code")
    document_id = first.text("document_id") or row_map.id_prefix + "-".join(key.split("|"))
    return Record(row_map.type_name, "_".join(document_id.split()), version, effective, patient,
                  read_body(row_map.type_name, readers), (code, first.text("practitioner.name")) if code else None)


__all__ = ["FieldSpec", "RowMap", "map_rows", "allowed_fields", "PATIENT_IDS", "HEADER_FIELDS", "PATIENT_FIELDS"]
