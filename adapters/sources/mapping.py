"""The declarative row map shared by the ``csv`` and ``database`` sources.

A clinic's table or export is described, not programmed: which canonical field comes from which
column (or constant), with code translations. Rows that share the configured key columns form one
document (a prescription's lines, a report's results); everything else comes from the group's
first row. Option names and the field list are in docs/adapters.md ("Row maps").
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from .base import Quarantine, SourceContext, SourceItem
from .documents import Patient, Record, finish
from .row_fields import RowReader, read_body
from .row_map import PATIENT_IDS, RowMap
from .values import SourceProblem, clean_text, parse_datetime, version_of


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
    # identifiers as the row holds them (a lower-case x too): the hub normalizes them and tells the clinic
    patient = Patient(ids=[(root, first.text(name)) for name, root in PATIENT_IDS.items() if first.text(name)],
                      name=first.text("patient.name"), sex=first.text("patient.sex"),
                      birth_date=first.date("patient.birth_date") or "", telecom=first.text("patient.telecom"),
                      address=first.text("patient.address"), division=first.text("patient.division"))
    code = first.text("practitioner.code")
    document_id = first.text("document_id") or row_map.id_prefix + "-".join(key.split("|"))
    return Record(row_map.type_name, "_".join(document_id.split()), version, effective, patient,
                  read_body(row_map.type_name, readers), (code, first.text("practitioner.name")) if code else None)


__all__ = ["map_rows"]
