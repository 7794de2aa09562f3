"""Build canonical documents (``urn:hie:doc:v1``) from plain values, and check them.

Every source adapter maps its input to a ``Record`` (header values + body values keyed by the
canonical element names) and calls ``finish``. One builder keeps the element order of the XSDs in
one place, so the HL7, CDA, CSV and database adapters cannot drift apart. ``finish`` validates
with the hub's own validator: what the agent sends is what the hub accepts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from lxml import etree

from hub.errors import RecordError
from hub.records.validation import validate
from hub.terminology.service import lookup

from .base import Quarantine, SourceContext, SourceItem
from .values import SourceProblem

DOC_NS = "urn:hie:doc:v1"
DOCUMENT_ID_ROOT = "2.16.156.10011.1.1"  # WS/T 500 文档流水号 numbering scheme

# Body elements of each supported type, in XSD order, with how each value is written.
BODY: dict[str, tuple[tuple[str, str], ...]] = {
    "PersonRegistration": (("nationality", "coded"), ("ethnicity", "coded"), ("occupation", "coded"),
                           ("maritalStatus", "coded"), ("contact", "contacts")),
    "OutpatientVisit": (("visitTime", "time"), ("department", "coded"), ("emergency", "text"),
                        ("diagnosis", "diagnoses"), ("charges", "charges")),
    "InpatientStay": (("admissionTime", "time"), ("dischargeTime", "time"), ("department", "coded"),
                      ("ward", "text"), ("bedDays", "text"), ("dischargeOutcome", "coded"),
                      ("diagnosis", "diagnoses"), ("procedure", "procedures"), ("charges", "charges")),
    "LabReport": (("orderedBy", "party"), ("specimen", "coded"), ("reportTime", "time"), ("result", "results")),
    "Prescription": (("prescriptionTime", "time"), ("department", "coded"), ("diagnosis", "diagnoses"),
                     ("item", "items")),
    "Dispense": (("dispenseTime", "time"), ("prescriptionRef", "identifier"), ("item", "items")),
}
SUPPORTED_TYPES = frozenset(BODY)
CHARGE_CATEGORIES = ("drugs", "examinations", "treatment", "other")
_ITEM_FIELDS = ("specification", "quantity", "unit", "amount", "batchNumber", "dosage")


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


def _write_items(parent, name, items):
    for item in items:
        element = _sub(parent, name)
        _sub(element, "drug", **_coded(item["drug"]))
        for child in _ITEM_FIELDS:
            if item.get(child) not in (None, ""):
                _sub(element, child, item[child])


_WRITERS: dict[str, Callable[[etree._Element, str, Any], Any]] = {
    "time": lambda parent, name, value: _sub(parent, name, value=value),
    "coded": lambda parent, name, value: _sub(parent, name, **_coded(value)),
    "text": lambda parent, name, value: _sub(parent, name, value),
    "party": lambda parent, name, value: _sub(parent, name, code=value[0], name=value[1]),
    "identifier": lambda parent, name, value: _sub(parent, name, root=value[0], extension=value[1]),
    "contacts": _write_contacts, "diagnoses": _write_diagnoses, "charges": _write_charges,
    "procedures": _write_procedures, "results": _write_results, "items": _write_items,
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
    _sub(author, "institution", code=context.organization, name=context.organization_name or None)
    if record.practitioner and record.practitioner[0]:
        _sub(author, "practitioner", code=record.practitioner[0], name=record.practitioner[1] or None)
    _write_patient(header, record.patient)
    body = _sub(root, "body")
    for name, kind_of_value in BODY[record.type_name]:
        value = record.body.get(name)
        if value not in (None, "", [], {}):
            _WRITERS[kind_of_value](body, name, value)
    return root


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


def finish(key: str, make: Callable[[], Record], context: SourceContext) -> SourceItem:
    """Run one record's mapping and validation; any failure becomes a quarantined item."""
    try:
        document = build(make(), context)
        validate(document)
    except SourceProblem as problem:
        return SourceItem(key=key, problem=Quarantine(problem.code, problem.message, problem.field))
    except RecordError as error:
        return SourceItem(key=key, problem=Quarantine(error.code, error.message, error.field or ""))
    return SourceItem(key=key, document=document)


__all__ = ["DOC_NS", "DOCUMENT_ID_ROOT", "BODY", "SUPPORTED_TYPES", "CHARGE_CATEGORIES", "Patient", "Record",
           "build", "finish"]
