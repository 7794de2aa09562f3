"""Build canonical documents (``urn:hie:doc:v1``) from plain values, and check them.

Every source adapter maps its input to a ``Record`` (header values + body values keyed by the
canonical element names) and calls ``finish``. One builder, driven by the body table in
``bodies``, keeps the element order of the XSDs in one place, so the HL7, CDA, CSV and database
adapters cannot drift apart. ``finish`` judges the document with the hub's own validator (``judge``),
without the code lists, which are the hub's to apply, and keeps it as the source gave it.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from lxml import etree

from protocol.errors import RecordError
from schemas.normalize import normalize_document
from schemas.terminology.service import lookup
from schemas.validation import validate_shape

from .base import Quarantine, SourceContext, SourceItem
from .bodies import BODY, CHARGE_CATEGORIES, DATE_CHILDREN, DERIVED, ITEM_CHILDREN, NO_PATIENT, SUPPORTED_TYPES
from .values import SourceProblem

DOC_NS = "urn:hie:doc:v1"
DOCUMENT_ID_ROOT = "2.16.156.10011.1.1"  # WS/T 500 文档流水号 numbering scheme


@dataclass
class Patient:
    ids: list[tuple[str, str]] = field(default_factory=list)  # (root OID, extension)
    name: str = ""
    sex: str = ""
    birth_date: str = ""
    telecom: str = ""
    address: str = ""
    division: str = ""


@dataclass
class Record:
    """One canonical document as plain values; ``body`` maps element names to values."""

    type_name: str
    document_id: str
    version: int
    effective_time: str
    patient: Patient
    body: dict[str, Any]
    practitioner: tuple[str, str] | None = None  # (code, name)


def _q(name: str) -> str:
    return f"{{{DOC_NS}}}{name}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: Any) -> etree._Element:
    """A child element; attributes whose value is None or empty are left out."""
    element = etree.SubElement(parent, _q(tag), {k: str(v) for k, v in attributes.items() if v not in (None, "")})
    if text not in (None, ""):
        element.text = str(text)
    return element


def _coded(value: Any) -> dict[str, str]:
    """A coded value given as a code string or a mapping with code / codeSystem / displayName."""
    if isinstance(value, Mapping):
        return {k: value[k] for k in ("code", "codeSystem", "displayName") if value.get(k)}
    return {"code": str(value)}


def _write_contacts(parent, name, contacts):
    for contact in contacts:
        element = _sub(parent, name)
        _sub(element, "name", contact["name"])
        if contact.get("relationship"):
            _sub(element, "relationship", **_coded(contact["relationship"]))
        _sub(element, "telecom", value=contact["telecom"])


def _write_diagnoses(parent, name, diagnoses):
    for diagnosis in diagnoses:
        _sub(parent, name, code=diagnosis["code"], codeSystem="ICD-10", displayName=diagnosis.get("displayName"),
             primary="true" if diagnosis.get("primary") else None)


def _write_charges(parent, name, charges: Mapping[str, str]):
    element = _sub(parent, name)
    for category in CHARGE_CATEGORIES:
        if charges.get(category) not in (None, ""):
            _sub(element, "charge", category=category, amount=charges[category])


def _write_procedures(parent, name, procedures):
    for procedure in procedures:
        _sub(parent, name, **procedure)


def _write_results(parent, name, results):
    for result in results:
        element = _sub(parent, name)
        _sub(element, "test", **_coded(result["test"]))
        _sub(element, "value", result["value"])
        if result.get("unit"):
            _sub(element, "unit", result["unit"])
        if result.get("low") or result.get("high"):
            _sub(element, "referenceRange", low=result.get("low"), high=result.get("high"))
        if result.get("abnormalFlag"):
            _sub(element, "abnormalFlag", **_coded(result["abnormalFlag"]))


def _items_writer(kind: str):
    def write(parent, name, items):
        for item in items:
            element = _sub(parent, name)
            _sub(element, "drug", **_coded(item["drug"]))
            for child in ITEM_CHILDREN[kind]:
                if item.get(child) in (None, ""):
                    continue
                if child in DATE_CHILDREN:
                    _sub(element, child, value=item[child])
                else:
                    _sub(element, child, item[child])
    return write


def _write_revenue(parent, name, amounts: Mapping[str, str]):
    for category in CHARGE_CATEGORIES:
        if amounts.get(category) not in (None, ""):
            _sub(parent, name, category=category, amount=amounts[category])


def _write_value(parent, name, value):
    _sub(parent, name, value=value)


def _write_text(parent, name, value):
    _sub(parent, name, value)


_WRITERS: dict[str, Callable[[etree._Element, str, Any], Any]] = {
    "time": _write_value, "date": _write_value, "month": _write_value,
    "text": _write_text, "count": _write_text, "measure": _write_text, "amount": _write_text, "boolean": _write_text,
    "coded": lambda parent, name, value: _sub(parent, name, **_coded(value)),
    "party": lambda parent, name, value: _sub(parent, name, code=value[0], name=value[1]),
    "identifier": lambda parent, name, value: _sub(parent, name, root=value[0], extension=value[1]),
    "address": lambda parent, name, value: _sub(parent, name, value[0], division=value[1]),
    "pressure": lambda parent, name, value: _sub(parent, name, systolic=value[0], diastolic=value[1]),
    "holder": lambda parent, name, value: _sub(parent, name, code=value["code"], name=value["name"],
                                               kind=value["kind"]),
    "contacts": _write_contacts, "diagnoses": _write_diagnoses, "charges": _write_charges, "revenue": _write_revenue,
    "procedures": _write_procedures, "results": _write_results, "items": _items_writer("items"),
    "stock_items": _items_writer("stock_items"),
}


def build(record: Record, context: SourceContext) -> etree._Element:
    """The canonical XML of ``record`` (not yet validated)."""
    kind = lookup("document-types", record.type_name)
    root = etree.Element(_q(record.type_name), nsmap={None: DOC_NS}, schemaVersion="1")
    header = _sub(root, "header")
    _sub(header, "id", root=DOCUMENT_ID_ROOT, extension=record.document_id)
    _sub(header, "version", str(record.version))
    _sub(header, "typeCode", code=kind.extra["type_code"], codeSystem=kind.extra["type_code_system"],
         displayName=kind.display)
    _sub(header, "templateId", root=kind.extra["template_id"])
    _sub(header, "effectiveTime", value=record.effective_time)
    author = _sub(header, "author")
    _sub(author, "institution", code=context.institution, name=context.institution_name or None)
    if record.practitioner and record.practitioner[0]:
        _sub(author, "practitioner", code=record.practitioner[0], name=record.practitioner[1] or None)
    if record.type_name not in NO_PATIENT:
        _write_patient(header, record.patient)
    body = _sub(root, "body")
    values = _derived(record.type_name, record.body)
    for name, kind_of_value in BODY[record.type_name]:
        value = values.get(name)
        if value not in (None, "", [], {}):
            _WRITERS[kind_of_value](body, name, value)
    return root


def _derived(type_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the elements ``bodies.DERIVED`` takes from a code list, where the source gave none."""
    values = dict(body)
    for (derived_type, element), (source, system, column) in DERIVED.items():
        given = values.get(source)
        if derived_type == type_name and not values.get(element) and given:
            concept = lookup(system, given["code"] if isinstance(given, Mapping) else str(given))
            if concept is None:  # what the hub would say had the element been given
                raise SourceProblem("record.code.unknown", f"code is not in the code list {system}",
                                    f"/{type_name}/body/{source}/@code")
            values[element] = concept.extra.get(column)
    return values


def _write_patient(header: etree._Element, patient: Patient) -> None:
    element = _sub(header, "patient")
    for root, extension in patient.ids[:16]:
        _sub(element, "id", root=root, extension=extension)
    _sub(element, "name", patient.name or None)
    if patient.sex:
        _sub(element, "sex", code=patient.sex)
    if patient.birth_date:
        _sub(element, "birthDate", value=patient.birth_date)
    if patient.telecom:
        _sub(element, "telecom", value=patient.telecom)
    if patient.address:
        _sub(element, "address", patient.address, division=patient.division or None)


def judge(document: etree._Element) -> None:
    """Refuse (``RecordError``) what the hub would refuse whatever its code lists; the document is not changed.

    A normalized copy is judged, as the hub judges after normalizing: a full-width or spaced ID, a lower-case
    ``x``, sex ``F`` is not a reason to hold the fact here. The document itself goes as its source gave it,
    so the hub normalizes it again and reports the finding to this clinic (docs/agent.md). The code lists
    are the hub's: an agent's shipped lists are older than the hub's imports, so a well-formed code they
    lack is sent and the hub decides (docs/code-lists.md)."""
    normalized = deepcopy(document)
    normalize_document(normalized, None, [])
    validate_shape(normalized)


def finish(key: str, make: Callable[[], Record], context: SourceContext) -> SourceItem:
    """Run one record's mapping and validation; any failure becomes a quarantined item."""
    try:
        record = make()
        try:
            document = build(record, context)
        except ValueError:  # lxml refuses NUL and other control characters: bad data, not a bug
            raise SourceProblem("source.value.invalid",
                                "a value holds control characters that XML cannot carry") from None
        judge(document)
    except SourceProblem as problem:
        return SourceItem(key=key, problem=Quarantine(problem.code, problem.message, problem.field))
    except RecordError as error:
        return SourceItem(key=key, problem=Quarantine(error.code, error.message, error.field or ""))
    return SourceItem(key=key, document=document)


__all__ = ["DOC_NS", "DOCUMENT_ID_ROOT", "BODY", "SUPPORTED_TYPES", "CHARGE_CATEGORIES", "Patient", "Record",
           "build", "finish", "judge"]
