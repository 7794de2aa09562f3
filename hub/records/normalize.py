"""Unambiguous spelling fixes made before a document is validated (issue 23: identity without data loss).

An input method left in full-width mode types ``３５０５…`` for ``3505…``; a clerk types a space in a
phone number or a lower-case ``x`` as a resident ID's check character. The meaning is not in doubt,
so the hub does not refuse the clinical fact for it: it rewrites the value in the parsed tree (NFKC,
whitespace removed, the check ``x`` upper-cased), validates what it rewrote, and records a finding
(code and field path, never the value) so that the sender learns what its system types.

Where: the patient's identifier extensions and phone numbers (always; a handful of attributes), and
the ``code`` / ``division`` attributes of the whole document only when its bytes hold a full-width
form or an ideographic space at all (a byte scan: most documents never walk the tree here).
The value as received stays in the stored message, whose bytes are kept as they came in
(``hub.records.query.document_bytes``); the normalized one is what the rows and the index hold.
"""
from __future__ import annotations

import unicodedata

from lxml import etree

from protocol.findings import Finding
from schemas.validation import field_path

from .header import identifier_kinds

# UTF-8 lead bytes of U+FF00–U+FFEF (full-width forms) and the ideographic space U+3000
_WIDE_MARKERS = (b"\xef\xbc", b"\xef\xbd", b"\xe3\x80\x80")
_CODED_ATTRIBUTES = ("code", "division")


def spelled(value: str) -> str:
    """NFKC with every whitespace removed (``３５０５ ２４`` → ``350524``)."""
    if value.isascii():
        return "".join(value.split())
    return "".join(unicodedata.normalize("NFKC", value).split())


def resident_id_spelled(value: str) -> str:
    """``spelled``, and a lower-case check character ``x`` upper-cased."""
    value = spelled(value)
    return value[:-1] + "X" if value.endswith("x") else value


def normalize_document(document: etree._Element, data: bytes, findings: list[Finding]) -> None:
    """Rewrite unambiguous spellings in place; append one finding per field rewritten."""
    type_name = etree.QName(document).localname
    _patient(document, type_name, findings)
    if any(marker in data for marker in _WIDE_MARKERS):
        _codes(document, findings)


def _patient(document: etree._Element, type_name: str, findings: list[Finding]) -> None:
    if not len(document):
        return
    header = document[0]
    prefix = header.tag[:header.tag.find("}") + 1] if header.tag.startswith("{") else ""
    patient = header.find(prefix + "patient")
    if patient is None:
        return
    kinds = None
    for child in patient:
        tag = child.tag
        if tag == prefix + "id":
            value = child.get("extension")
            if value is None:
                continue
            root = child.get("root") or ""
            if value.isascii() and value.isalnum() and not value.endswith("x"):
                continue  # the everyday case: nothing to do, no code list read
            kinds = kinds if kinds is not None else identifier_kinds()
            fixed = resident_id_spelled(value) if kinds.get(root) == "resident_id" else spelled(value)
            if fixed != value and fixed:
                child.set("extension", fixed)
                findings.append(Finding("record.patient.id.normalized",
                                        f"/{type_name}/header/patient/id[@root='{root}']/@extension"))
        elif tag == prefix + "telecom":
            value = child.get("value")
            if value is None or (value.isascii() and " " not in value and "\t" not in value):
                continue
            fixed = spelled(value)
            if fixed != value and fixed:
                child.set("value", fixed)
                findings.append(Finding("record.patient.telecom.normalized",
                                        f"/{type_name}/header/patient/telecom/@value"))


def _codes(document: etree._Element, findings: list[Finding]) -> None:
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in _CODED_ATTRIBUTES:
            value = element.get(attribute)
            if value is None or value.isascii():
                continue
            fixed = spelled(value)
            if fixed != value and fixed:
                element.set(attribute, fixed)
                findings.append(Finding("record.code.normalized", field_path(document, element, attribute=attribute)))


__all__ = ["normalize_document", "spelled", "resident_id_spelled"]
