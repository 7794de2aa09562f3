"""Reading canonical fields from clinic rows: one reader per row, one body reader per kind.

``RowReader`` applies a row map's field specs (column or constant, default, code translations)
and converts values with the map's error codes. ``KIND_FIELDS`` says which row-map field names
each body kind (``bodies``) reads (``row_map``), and ``read_body`` turns a group of rows into the body values
``documents.build`` writes: scalar and structured elements from the group's first row, list
elements from every row.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from .bodies import BODY, CHARGE_CATEGORIES
from .documents import DOCUMENT_ID_ROOT
from .row_map import RowMap
from .values import (
    SourceProblem,
    boolean_text,
    clean_text,
    count_text,
    decimal_text,
    iso_date,
    iso_datetime,
    year_month,
)


class RowReader:
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

    def _convert(self, name: str, convert: Callable[..., str], problem: str, **options: Any) -> str | None:
        """``convert`` the value (None when empty); failures get ``<prefix>.<problem>``."""
        value = self.raw(name)
        if value in (None, ""):
            return None
        return convert(value, field=self.where(name), code=f"{self.map.prefix}.{problem}", **options)

    def time(self, name: str) -> str | None:
        return self._convert(name, iso_datetime, "datetime.invalid", default_offset=self.map.timezone)

    def date(self, name: str) -> str | None:
        return self._convert(name, iso_date, "date.invalid")

    def month(self, name: str) -> str | None:
        return self._convert(name, year_month, "date.invalid")

    def boolean(self, name: str) -> str | None:
        return self._convert(name, boolean_text, "boolean.invalid")

    def count(self, name: str) -> str | None:
        return self._convert(name, count_text, "number.invalid")

    def number(self, name: str, places: int, *, trim: bool = False) -> str | None:
        return self._convert(name, decimal_text, "number.invalid", places=places, trim=trim)


def _when(reader: RowReader, name: str, make: Callable[[], Any]) -> Any:
    """``make()`` when the field ``name`` has a value, else None (an optional element stays out)."""
    return make() if reader.text(name) else None


# Scalar and structured kinds: (element, the group's first row) → the value documents.build writes.
_SCALARS: dict[str, Callable[[str, RowReader], Any]] = {
    "time": lambda e, r: r.time(e), "date": lambda e, r: r.date(e), "month": lambda e, r: r.month(e),
    "coded": lambda e, r: r.text(e), "text": lambda e, r: r.text(e), "count": lambda e, r: r.count(e),
    "measure": lambda e, r: r.number(e, 2, trim=True), "amount": lambda e, r: r.number(e, 2),
    "boolean": lambda e, r: r.boolean(e),
    "identifier": lambda e, r: _when(r, e, lambda: (DOCUMENT_ID_ROOT, r.text(e))),
    "party": lambda e, r: _when(r, f"{e}.code", lambda: (r.text(f"{e}.code"), r.text(f"{e}.name"))),
    "address": lambda e, r: _when(r, e, lambda: (r.text(e), r.text(f"{e}.division"))),
    "pressure": lambda e, r: (r.count(f"{e}.systolic"), r.count(f"{e}.diastolic"))
    if r.text(f"{e}.systolic") or r.text(f"{e}.diastolic") else None,
    "holder": lambda e, r: _when(r, f"{e}.code", lambda: {p: r.text(f"{e}.{p}") for p in ("code", "name", "kind")}),
    "charges": lambda e, r: {c: r.number(f"{e}.{c}", 2) for c in CHARGE_CATEGORIES if r.number(f"{e}.{c}", 2)},
    "revenue": lambda e, r: {c: r.number(f"{e}.{c}", 2) for c in CHARGE_CATEGORIES if r.number(f"{e}.{c}", 2)},
}


def _diagnoses(element: str, reader: RowReader) -> list[dict]:
    codes, names = reader.values(f"{element}.code"), reader.values(f"{element}.display")
    return [{"code": code, "displayName": names[i] if i < len(names) and names[i] else None}
            for i, code in enumerate(codes) if code]


def _one(first: str, builder: Callable[[str, RowReader], dict]):
    """A list reader for kinds with one entry per row (none when the row's ``first`` field is empty)."""
    def read(element: str, reader: RowReader) -> list[dict]:
        return [builder(element, reader)] if reader.text(f"{element}.{first}") else []
    return read


def _drug(e: str, r: RowReader) -> dict:
    return {"code": r.text(f"{e}.drug"), "displayName": r.text(f"{e}.drug.display") or None}


_LISTS: dict[str, Callable[[str, RowReader], list[dict]]] = {
    "diagnoses": _diagnoses,
    "procedures": _one("code", lambda e, r: {
        "code": r.text(f"{e}.code"), "codeSystem": r.text(f"{e}.system") or None,
        "displayName": r.text(f"{e}.display") or None, "date": r.date(f"{e}.date")}),
    "results": _one("test", lambda e, r: {
        "test": {"code": r.text(f"{e}.test"), "displayName": r.text(f"{e}.test.display") or None},
        "value": r.text(f"{e}.value"), "unit": r.text(f"{e}.unit"), "low": r.number(f"{e}.low", 4, trim=True),
        "high": r.number(f"{e}.high", 4, trim=True), "abnormalFlag": r.text(f"{e}.abnormalFlag") or None}),
    "items": _one("drug", lambda e, r: {
        "drug": _drug(e, r), "specification": r.text(f"{e}.specification"),
        "quantity": r.number(f"{e}.quantity", 3, trim=True), "unit": r.text(f"{e}.unit"),
        "amount": r.number(f"{e}.amount", 2), "batchNumber": r.text(f"{e}.batchNumber"),
        "dosage": r.text(f"{e}.dosage")}),
    "stock_items": _one("drug", lambda e, r: {
        "drug": _drug(e, r), "specification": r.text(f"{e}.specification"),
        "batchNumber": r.text(f"{e}.batchNumber"), "expiryDate": r.date(f"{e}.expiryDate"),
        "quantity": r.number(f"{e}.quantity", 3, trim=True), "unit": r.text(f"{e}.unit"),
        "amount": r.number(f"{e}.amount", 2)}),
    "contacts": _one("name", lambda e, r: {
        "name": r.text(f"{e}.name"), "relationship": r.text(f"{e}.relationship") or None,
        "telecom": r.text(f"{e}.telecom")}),
}


def read_body(type_name: str, readers: list[RowReader]) -> dict[str, Any]:
    """The body values of one document from the readers of its rows (the first row first)."""
    body: dict[str, Any] = {}
    for element, kind in BODY[type_name]:
        if kind in _SCALARS:
            body[element] = _SCALARS[kind](element, readers[0])
            continue
        entries = [entry for reader in readers for entry in _LISTS[kind](element, reader)]
        if kind == "diagnoses" and entries:
            entries[0]["primary"] = True  # the export's first diagnosis is the principal one
        body[element] = entries
    return body


__all__ = ["RowReader", "read_body"]
