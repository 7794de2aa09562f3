"""Import a registry file: regions, institutions, departments and practitioners, all or nothing.

The format (README, "Running a hub by hand"; a sample: ``schemas/examples/registry.csv``):

- **CSV** (UTF-8, a BOM allowed): a header row, then one entry per row; the column ``entry`` says
  what the row is (``region``, ``institution``, ``department``, ``practitioner``), the other columns
  are the entry's fields (``FIELDS``); a column that is not a field of the row's entry stays empty.
- **JSON**: ``{"regions": [...], "institutions": [...], "departments": [...], "practitioners": [...]}``,
  each entry an object of its fields.

Every entry goes through the registry's own service functions (``register_*``: the same checks and
audit as every other write) in the caller's transaction, so the caller commits all or nothing. An
entry equal to what is registered is left alone (no write, no audit): importing a file twice changes
nothing. A region is not created here: divisions come from the GB/T 2260 code list
(``schemas/codes/divisions.csv``); a region entry is checked against it and mirrored. An error names
the row (CSV: its row number, the header being row 1; JSON: its pointer) and the field, and never
quotes the file's content.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from protocol.errors import HubError

from .actor import Actor
from .models import EntryStatus
from .regions import get_region_or_raise, sync_regions
from .service import get_institution, register_institution
from .staff import get_department, get_practitioner, register_department, register_practitioner

ENTRIES = ("region", "institution", "department", "practitioner")  # the order they are applied in
FIELDS = {
    "region": ("code", "name"),
    "institution": ("code", "name", "kind", "division", "level", "parent", "status"),
    "department": ("institution", "code", "name", "standard_code", "status"),
    "practitioner": ("institution", "code", "name", "title", "department", "status", "synthetic"),
}
REQUIRED = {"region": ("code",), "institution": ("code", "name", "kind", "division"),
            "department": ("institution", "code", "name", "standard_code"),
            "practitioner": ("institution", "code", "name")}
COLUMNS = ("entry", *dict.fromkeys(f for entry in ENTRIES for f in FIELDS[entry]))
# file field -> service argument (the service names its errors by argument)
_ARGUMENT = {"division": "division_code", "parent": "parent_code", "title": "title_code",
             "department": "department_code", "institution": "institution_code"}
_FIELD = {argument: name for name, argument in _ARGUMENT.items()}


@dataclass(frozen=True)
class RegistryEntry:
    """One entry of the file: what it is, where it is (for errors), its fields."""

    entry: str
    row: str
    values: dict


@dataclass
class ImportCounts:
    """What an import did, per entry kind: created / updated / unchanged (regions: checked)."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {entry: {"checked": 0} if entry == "region" else
                                 {"created": 0, "updated": 0, "unchanged": 0} for entry in ENTRIES})

    def add(self, entry: str, outcome: str) -> None:
        self.counts[entry][outcome] += 1


def _invalid(row: str, name: str | None, detail: str) -> HubError:
    return HubError("registry.invalid", detail, row=row, **({"field": name} if name else {}))


# ------------------------------------------------------------------------------------- reading

def read_entries(content: bytes, *, suffix: str) -> list[RegistryEntry]:
    """The entries of a ``.csv`` or ``.json`` file's bytes; ``registry.invalid`` naming the row."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid("file", None, "the file is not UTF-8") from None
    if suffix.lower() == ".csv":
        return _csv_entries(text)
    if suffix.lower() == ".json":
        return _json_entries(text)
    raise _invalid("file", None, "a registry file ends in .csv or .json")


def _csv_entries(text: str) -> list[RegistryEntry]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "entry" not in header:
        raise _invalid("row 1", "entry", "the header has no 'entry' column")
    for position, name in enumerate(header, start=1):
        if name not in COLUMNS:
            raise _invalid("row 1", f"column {position}", "not a registry column")
    entries = []
    for record in reader:
        row = f"row {reader.line_num}"
        if None in record:
            raise _invalid(row, None, "more cells than header columns")
        values = {name: (value or "").strip() for name, value in record.items()}
        kind = values.pop("entry")
        if kind not in ENTRIES:
            raise _invalid(row, "entry", "not region, institution, department or practitioner")
        for name, value in values.items():
            if value and name not in FIELDS[kind]:
                raise _invalid(row, name, f"not a field of a {kind} (leave it empty)")
        entries.append(_entry(kind, row, {name: values.get(name) or None for name in FIELDS[kind]}))
    return entries


def _json_entries(text: str) -> list[RegistryEntry]:
    try:
        document = json.loads(text)
    except ValueError:
        raise _invalid("file", None, "not JSON") from None
    if not isinstance(document, dict) or set(document) - {f"{entry}s" for entry in ENTRIES}:
        raise _invalid("/", None, "expected an object of regions, institutions, departments, practitioners")
    entries = []
    for kind in ENTRIES:
        items = document.get(f"{kind}s", [])
        if not isinstance(items, list):
            raise _invalid(f"/{kind}s", None, "expected a list")
        for index, item in enumerate(items):
            row = f"/{kind}s/{index}"
            if not isinstance(item, dict):
                raise _invalid(row, None, "expected an object")
            for name, value in item.items():
                if name not in FIELDS[kind]:
                    raise _invalid(row, name, f"not a field of a {kind}")
                if value is not None and not isinstance(value, (str, bool)):
                    raise _invalid(row, name, "expected a string")
            values = {name: item.get(name) for name in FIELDS[kind]}
            entries.append(_entry(kind, row, {name: value.strip() if isinstance(value, str) else value
                                              for name, value in values.items()}))
    return entries


def _entry(kind: str, row: str, values: dict) -> RegistryEntry:
    for name in REQUIRED[kind]:
        if values.get(name) in (None, ""):
            raise _invalid(row, name, "missing")
    if kind == "practitioner":
        synthetic = values.get("synthetic")
        if isinstance(synthetic, str) or synthetic is None:
            if (synthetic or "false").lower() not in ("true", "false"):
                raise _invalid(row, "synthetic", "expected true or false")
            synthetic = (synthetic or "").lower() == "true"
        values["synthetic"] = synthetic
    if "status" in FIELDS[kind]:
        values["status"] = values.get("status") or EntryStatus.ACTIVE.value
    return RegistryEntry(kind, row, values)


# ------------------------------------------------------------------------------------ applying

def import_entries(session: Session, *, actor: Actor, entries: list[RegistryEntry]) -> ImportCounts:
    """Register ``entries`` in the caller's transaction (roll it back on error: nothing is imported)."""
    counts = ImportCounts()
    by_kind = {kind: [e for e in entries if e.entry == kind] for kind in ENTRIES}
    if by_kind["region"] or by_kind["institution"]:
        sync_regions(session, actor=actor)  # the registry's copy of the code list (writes only what differs)
    for item in by_kind["region"]:
        _check_region(item)
        counts.add("region", "checked")
    for item in _parents_first(by_kind["institution"]):
        counts.add("institution", _apply(session, actor, item, get_institution(session, code=item.values["code"]),
                                         register_institution))
    for item in by_kind["department"]:
        existing = get_department(session, institution_code=item.values["institution"], code=item.values["code"])
        counts.add("department", _apply(session, actor, item, existing, register_department))
    for item in by_kind["practitioner"]:
        existing = get_practitioner(session, institution_code=item.values["institution"], code=item.values["code"])
        counts.add("practitioner", _apply(session, actor, item, existing, register_practitioner))
    return counts


def _check_region(item: RegistryEntry) -> None:
    try:
        region = get_region_or_raise(code=item.values["code"], field="/code")
    except HubError:
        raise _invalid(item.row, "code", "not in the divisions code list (schemas/codes/divisions.csv)") from None
    if item.values.get("name") and item.values["name"] != region.name:
        raise _invalid(item.row, "name", "differs from the divisions code list")


def _parents_first(items: list[RegistryEntry]) -> list[RegistryEntry]:
    """Institutions of the file ordered so that a parent in the file comes before its children."""
    pending, ordered, placed = list(items), [], set()
    in_file = {item.values["code"] for item in items}
    while pending:
        ready = [i for i in pending if not i.values.get("parent") or i.values["parent"] not in in_file
                 or i.values["parent"] in placed]
        if not ready:  # a cycle: let the service name the row at fault
            ready = pending[:1]
        for item in ready:
            ordered.append(item)
            placed.add(item.values["code"])
            pending.remove(item)
    return ordered


def _apply(session: Session, actor: Actor, item: RegistryEntry, existing, register) -> str:
    arguments = {_ARGUMENT.get(name, name): value for name, value in item.values.items()}
    for optional in ("level", "parent_code", "title_code", "department_code"):
        if optional in arguments and not arguments[optional]:
            arguments[optional] = None
    if existing is not None and all(getattr(existing, name) == value for name, value in arguments.items()):
        return "unchanged"
    try:
        register(session, actor=actor, **arguments)
    except HubError as error:
        name = str(error.fields.get("field") or "").lstrip("/")
        if error.code == "registry.not_found":  # the institution a department or practitioner names
            raise _invalid(item.row, "institution", "no such institution (in the registry or above in the file)") \
                from None
        raise _invalid(item.row, _FIELD.get(name, name) or None, error.detail or "invalid") from None
    return "created" if existing is None else "updated"


__all__ = ["ENTRIES", "FIELDS", "COLUMNS", "RegistryEntry", "ImportCounts", "read_entries", "import_entries"]
