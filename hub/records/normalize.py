"""Unambiguous spelling fixes made before a document is validated (issue 23: identity without data loss).

An input method left in full-width mode types ``３５０５…`` for ``3505…``; a clerk types a space in a
phone number or a lower-case ``x`` as a resident ID's check character. The meaning is not in doubt,
so the hub does not refuse the clinical fact for it: it rewrites the value in the parsed tree (NFKC,
whitespace removed, the check ``x`` upper-cased), validates what it rewrote, and records a finding
(code and field path, never the value) so that the sender learns what its system types.

Where: the patient's identifier extensions and phone numbers (always; a handful of attributes), and
the ``code`` / ``division`` attributes of the whole document only when its bytes hold a full-width
digit or letter at all (a byte search: most documents never walk the tree here).
The value as received stays in the stored message, whose bytes are kept as they came in
(``hub.records.query.document_bytes``); the normalized one is what the rows and the index hold.
"""
from __future__ import annotations

import unicodedata

from lxml import etree

from protocol.findings import Finding
from schemas.validation import field_path

from .header import identifier_kinds

# Third bytes of the UTF-8 of the full-width digits and Latin letters after their two lead bytes
# (U+FF10–FF19, FF21–FF3A after EF BC; FF41–FF5A after EF BD). Not the full-width comma or
# parentheses that Chinese free text is full of: a prescription's "每日一次，…" would otherwise send
# a sixth of the documents down the tree walk.
_WIDE_THIRD = {b"\xef\xbc": frozenset(range(0x90, 0x9a)) | frozenset(range(0xa1, 0xbb)),
               b"\xef\xbd": frozenset(range(0x81, 0x9b))}
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
    tag = document.tag
    _patient(document, tag[tag.find("}") + 1:], findings)
    if _has_wide(data):
        _codes(document, findings)


def _has_wide(data: bytes) -> bool:
    """Whether the UTF-8 ``data`` holds a full-width digit or letter.

    One byte first: ``in`` with a one-byte needle is a memchr (~0.3 µs for a document here), a two-byte
    needle ~10 times that; 0xEF leads only U+F000–FFFF, which common Chinese text never uses.
    """
    if b"\xef" not in data:
        return False
    for lead, thirds in _WIDE_THIRD.items():
        at = data.find(lead)
        while at >= 0:
            if at + 2 < len(data) and data[at + 2] in thirds:
                return True
            at = data.find(lead, at + 2)
    return False


def _patient(document: etree._Element, type_name: str, findings: list[Finding]) -> None:
    if not len(document):
        return
    header = document[0]
    prefix = header.tag[:header.tag.find("}") + 1] if header.tag.startswith("{") else ""
    # iterchildren(tag) matches in C: no tag string is built per child (the everyday case costs ~2 µs)
    for patient in header.iterchildren(prefix + "patient"):
        for element in patient.iterchildren(prefix + "id", prefix + "telecom"):
            if element.get("extension") is not None:
                _identifier(element, type_name, findings)
            else:
                _telecom(element, type_name, findings)


def _identifier(element: etree._Element, type_name: str, findings: list[Finding]) -> None:
    value = element.get("extension")
    if value.isascii() and value.isalnum() and not value.endswith("x"):
        return  # the everyday case: nothing to do, no code list read
    root = element.get("root") or ""
    fixed = resident_id_spelled(value) if identifier_kinds().get(root) == "resident_id" else spelled(value)
    if fixed != value and fixed:
        element.set("extension", fixed)
        findings.append(Finding("record.patient.id.normalized",
                                f"/{type_name}/header/patient/id[@root='{root}']/@extension"))


def _telecom(element: etree._Element, type_name: str, findings: list[Finding]) -> None:
    value = element.get("value")
    if value is None or (value.isascii() and " " not in value and "\t" not in value):
        return
    fixed = spelled(value)
    if fixed != value and fixed:
        element.set("value", fixed)
        findings.append(Finding("record.patient.telecom.normalized", f"/{type_name}/header/patient/telecom/@value"))


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
