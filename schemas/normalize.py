"""Unambiguous spelling fixes and demographic repairs made before a document is validated (issue 23).

An input method left in full-width mode types ``３５０５…`` for ``3505…``; a clerk types a space in a
phone number, a lower-case ``x`` as a resident ID's check character, ``330106-19800101-002X`` (copied from
a formatted screen), a birth date as ``19800101`` or ``1980-01-01T00:00:00`` or ``j06.9`` for ``J06.9``. The
meaning is not in doubt, so the fact is not refused for it: the value is rewritten in the parsed tree
(NFKC, whitespace removed, the check ``x`` upper-cased), what was rewritten is validated, and a finding
(code and field path, never the value) tells the sender what its system types.

A defect in the patient's demographics never costs the clinical fact either: an impossible birth date,
a sex outside GB/T 2261.1 that cannot be mapped, a division of the wrong length or a phone that is not
one are dropped from the header with a finding (``M``/``男`` map to ``1``, a phone's extension is cut
off). Only the patient header is repaired: a wrong clinical value still refuses the document. Where
the schema requires a demographic (``PersonRegistration``), it is never dropped: the XSD refuses it.

One implementation for both sides: the hub runs it before validation (``hub.records.store.prepare``)
and keeps the findings; the clinic agent runs it on a copy that it validates, and sends the document as
received, so the hub normalizes it and reports the findings (docs/agent.md). The value as received stays in the hub's stored
message, whose bytes are kept as they came in (``hub.records.query.document_bytes``).

Where: the patient header (always; a handful of elements), the ICD-10 diagnosis codes (a few elements),
and the ``code`` / ``division`` attributes of the whole document only when its bytes hold a full-width
digit or letter, an ideographic space or a space before an attribute's closing quote (a byte search: most
documents never walk the tree here).
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

from lxml import etree

from protocol.errors import RecordError
from protocol.findings import Finding

from . import SCHEMAS_DIR
from .reader import Reader
from .validation import NAMESPACE_PREFIX, document_kind, field_path

# Third bytes of the UTF-8 of the full-width digits and Latin letters after their two lead bytes
# (U+FF10–FF19, FF21–FF3A after EF BC; FF41–FF5A after EF BD). Not the full-width comma or
# parentheses that Chinese free text is full of: a prescription's "每日一次，…" would otherwise send
# a sixth of the documents down the tree walk.
_WIDE_THIRD = {b"\xef\xbc": frozenset(range(0x90, 0x9a)) | frozenset(range(0xa1, 0xbb)),
               b"\xef\xbd": frozenset(range(0x81, 0x9b))}
_CODED_ATTRIBUTES = ("code", "division")
_IDENTIFIER_KINDS: dict[str, str] | None = None
# sre finds a two-byte literal in ~0.8 µs a document here, ``in`` in ~1.8 µs (timed; callgrind counts the
# two alike: ``in``'s loop runs more instructions per cycle, not fewer)
_PADDED = re.compile(rb' "')
_KINDS: dict[str, tuple[str, str]] = {}  # root tag → (namespace, type name), known types only
_ICD10_FIELDS: dict[tuple[str, str], tuple] = {}  # (namespace, type) → (path, attribute) bound to ICD-10
# Types whose schema requires sex and birth date: a defect there is refused, never dropped.
_REQUIRED_DEMOGRAPHICS = frozenset({"PersonRegistration"})

_SEX_CODES = frozenset({"0", "1", "2", "9"})  # GB/T 2261.1
_SEX_SPELLINGS = {"M": "1", "MALE": "1", "男": "1", "男性": "1", "F": "2", "FEMALE": "2", "女": "2", "女性": "2"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(Z|[+\-][0-9]{2}:[0-9]{2})?")
_PHONE = re.compile(r"\+?[0-9][0-9\-]{4,24}")  # the schema's TelecomValue
_PHONE_EXTENSION = re.compile(r"(\+?[0-9][0-9\-]{4,24})(?:转|分机|ext\.?|x|#|,)[0-9]{1,8}", re.IGNORECASE)
# A separator a clerk types between a resident ID's digit groups (330106-19800101-002X, copied from a
# formatted screen; NFKC has already made '－' '／' '．' ASCII): the digits around it leave no doubt.
_ID_SEPARATOR = re.compile(r"(?<=[0-9])[\-./\u2010-\u2015\u2212](?=[0-9X])")
_ID_MAX_LENGTH = 64  # the XSD's IdentifierExtension
# A birth date written year first, as HIS exports and clerks write it: 19800101 (HL7), 1980/01/01, 1980.1.1,
# 1980年1月1日, or a date-time (a midnight or a time of birth; an offset is read in China's time, +08:00).
_DATE_SPELLING = re.compile(
    r"(?P<y>[0-9]{4})(?:(?P<m>[0-9]{2})(?P<d>[0-9]{2})(?:[0-9]{4}(?:[0-9]{2})?)?"
    r"|(?P<sep>[\-/.])(?P<m2>[0-9]{1,2})(?P=sep)(?P<d2>[0-9]{1,2})|年(?P<m3>[0-9]{1,2})月(?P<d3>[0-9]{1,2})日?)"
    r"(?:(?:T|\s+)(?P<h>[0-9]{1,2}):(?P<min>[0-9]{2})(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?P<zone>Z|[+\-][0-9]{2}:?[0-9]{2})?)?")
_CHINA_TIME = timezone(timedelta(hours=8))


def spelled(value: str) -> str:
    """NFKC with every whitespace removed (``３５０５ ２４`` → ``350524``)."""
    if value.isascii():
        return "".join(value.split())
    return "".join(unicodedata.normalize("NFKC", value).split())


def resident_id_spelled(value: str) -> str:
    """``spelled``, a lower-case check character ``x`` upper-cased and separators between digit groups removed
    (``330106-19800101-002x`` → ``33010619800101002X``)."""
    value = spelled(value)
    value = value[:-1] + "X" if value.endswith("x") else value
    return value if value.isalnum() else _ID_SEPARATOR.sub("", value)


def identifier_kinds() -> dict[str, str]:
    """root OID → identifier kind (resident_id, health_record_no, …) from the code list."""
    global _IDENTIFIER_KINDS
    if _IDENTIFIER_KINDS is None:
        from .terminology import value_set

        _IDENTIFIER_KINDS = {concept.code: concept.extra.get("kind", "") for concept in value_set("identifier-roots")}
    return _IDENTIFIER_KINDS


def normalize_document(document: etree._Element, data: bytes | None, findings: list[Finding]) -> Reader | None:
    """Rewrite unambiguous spellings and repair the patient header in place; one finding per field.

    ``data``: the document's bytes, to skip the whole-document walk when they cannot need it; None
    (a document built in memory, at the agent) always walks. Returns the ``Reader`` the fields were
    found with: its child index is the one validation walks next (``validated(..., reader=)``), so
    the elements are found once. None for a document validation refuses as unknown (nothing is
    repaired there) or when a repair removed an element (the index would hold it still)."""
    kind = _kind(document)
    if kind is None:
        return None  # not a known type and version: validation refuses it whatever its spellings
    namespace, type_name = kind
    reader = Reader(namespace)
    intact = _patient(document, type_name, reader, findings)
    _icd10(document, namespace, type_name, reader, findings)
    if data is None or _may_need_walk(data):
        _codes(document, findings)
    return reader if intact else None


def _kind(document: etree._Element) -> tuple[str, str] | None:
    """(namespace, type name) of a document of a known type and version, else None (remembered per root
    tag: ``document_kind`` builds a tuple and reads the versions each time)."""
    tag = document.tag
    kind = _KINDS.get(tag) if isinstance(tag, str) else None
    if kind is None:
        try:
            known = document_kind(document)
        except RecordError:
            return None
        kind = _KINDS[tag] = (known.namespace, known.type_name)  # known tags only: a bounded cache
    return kind


def _may_need_walk(data: bytes) -> bool:
    """Whether the UTF-8 ``data`` holds a full-width digit or letter, U+3000 or a value's trailing space.

    A space before an attribute's closing quote (a fixed-width column pads on the right): a regex search
    for the two bytes (``_PADDED``, the gate's main cost); double quotes only, as members' XML writers
    quote, and no leading space (a third needle, for a rarer case). U+3000 only after a memchr for its
    lead byte 0xE3 (most documents have none). For the full-width characters one byte first: ``in`` with a one-byte needle
    is a memchr (~0.3 µs for a document here); 0xEF leads only U+F000–FFFF, which common Chinese text
    never uses but for its full-width punctuation (a prescription's "，"): each 0xEF is found with a
    one-byte ``find`` (a memchr) and its next two bytes read; a two-byte ``find`` per lead would scan
    the document twice more (callgrind: ~25k instructions for a prescription with a full-width comma).
    """
    if _PADDED.search(data) is not None or (b"\xe3" in data and b"\xe3\x80\x80" in data):
        return True
    at = data.find(b"\xef")
    while at >= 0:
        thirds = _WIDE_THIRD.get(data[at:at + 2])
        if thirds is not None and at + 2 < len(data) and data[at + 2] in thirds:
            return True
        at = data.find(b"\xef", at + 1)
    return False


# ----- the patient header -----

def _plain_identifier(value: str) -> bool:
    """Nothing to rewrite (``_identifier``'s own everyday case): ASCII letters and digits only (no space,
    no separator between digit groups), not empty, no lower-case check ``x``, within the XSD's length."""
    return value.isascii() and value.isalnum() and value[-1] != "x" and len(value) <= _ID_MAX_LENGTH


def _plain_date(value: str) -> bool:
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _plain_phone(value: str) -> bool:
    if value.isascii() and value.isdigit():  # the everyday number: what _PHONE matches, without the regex
        return 5 <= len(value) <= 25
    return value.isascii() and _PHONE.fullmatch(value) is not None


def _plain_division(value: str) -> bool:
    return len(value) == 6 and value.isascii() and value.isdigit()


def _patient(document: etree._Element, type_name: str, reader: Reader, findings: list[Finding]) -> bool:
    """Repair the patient header's fields; False when a repair removed an element.

    Each field is read once, through ``reader`` (its index is validation's next); a value that needs
    nothing (the everyday case) costs one attribute read and a test, no repair call."""
    required = type_name in _REQUIRED_DEMOGRAPHICS
    intact = True
    fields = _PATIENT_TAGS.get(reader.namespace)
    if fields is None:  # the fields with their tags qualified, once per namespace (a known one: bounded)
        prefix = "{" + reader.namespace + "}"
        fields = _PATIENT_TAGS[reader.namespace] = tuple((prefix + child, *rest) for child, *rest in _PATIENT_FIELDS)
    for patient in reader.findall(document, "header/patient"):
        children = reader.children(patient)
        for tag, attribute, plain, repair in fields:
            for element in children.get(tag, ()):
                value = element.get(attribute)
                if value is None or plain(value):
                    continue
                repair(element, type_name, required, findings)
                intact = intact and element.getparent() is not None
    return intact


def _identifier(element: etree._Element, type_name: str, _required: bool, findings: list[Finding]) -> None:
    value = element.get("extension")
    if value is None or (value.isascii() and value.isalnum() and not value.endswith("x")
                         and len(value) <= _ID_MAX_LENGTH):
        return  # the everyday case: nothing to do, no code list read
    root = element.get("root") or ""
    field = f"/{type_name}/header/patient/id[@root='{root}']/@extension"
    resident = identifier_kinds().get(root) == "resident_id"
    fixed = resident_id_spelled(value) if resident else spelled(value)
    if not fixed:  # only spaces (a HIS that pads): no identifier, the rest of the patient identifies
        element.getparent().remove(element)
        findings.append(Finding("record.patient.id.blank", field))
    elif resident and len(fixed) > _ID_MAX_LENGTH:  # a note pasted in, longer than the XSD holds: left out
        element.getparent().remove(element)
        findings.append(Finding("record.patient.id.invalid", field))
    elif fixed != value:
        element.set("extension", fixed)
        findings.append(Finding("record.patient.id.normalized", field))


def _sex(element: etree._Element, type_name: str, required: bool, findings: list[Finding]) -> None:
    code = element.get("code")
    if code is None or code in _SEX_CODES:
        return
    field = f"/{type_name}/header/patient/sex/@code"
    fixed = spelled(code)
    mapped = fixed if fixed in _SEX_CODES else _SEX_SPELLINGS.get(fixed.upper())
    if mapped is not None:
        element.set("code", mapped)
        findings.append(Finding("record.patient.sex.normalized", field))
    elif not required:
        element.getparent().remove(element)
        findings.append(Finding("record.patient.sex.invalid", field))


def _birth_date(element: etree._Element, type_name: str, required: bool, findings: list[Finding]) -> None:
    value = element.get("value")
    if value is None:
        return
    if len(value) == 10 and value[4] == "-" and value[7] == "-":  # the everyday case, without the regex
        try:
            date.fromisoformat(value)
            return
        except ValueError:
            pass
    field = f"/{type_name}/header/patient/birthDate/@value"
    fixed = spelled(value)
    if not _real_date(fixed):
        fixed = _date_spelled(value) or fixed
    if fixed != value and _real_date(fixed):
        element.set("value", fixed)
        findings.append(Finding("record.patient.birth_date.normalized", field))
    elif not _real_date(fixed) and not required:
        element.getparent().remove(element)
        findings.append(Finding("record.patient.birth_date.invalid", field))


def _real_date(value: str) -> bool:
    if not value.isascii() or _DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _date_spelled(value: str) -> str | None:
    """The ISO date a birth date written another unambiguous way names (``19800101``, ``1980/1/1``,
    ``1980-01-01T00:00:00``), or None. Day first or month first (``01/02/1980``) is ambiguous: None."""
    match = _DATE_SPELLING.fullmatch(unicodedata.normalize("NFKC", value).strip())
    if match is None:
        return None
    part = match.groupdict()
    try:
        month, day = part["m"] or part["m2"] or part["m3"], part["d"] or part["d2"] or part["d3"]
        born = date(int(part["y"]), int(month), int(day))
        if part["h"] is not None:
            zone = (part["zone"] or "").replace("Z", "+00:00").replace(":", "")
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:])) if zone else timedelta(hours=8)
            moment = datetime(born.year, born.month, born.day, int(part["h"]), int(part["min"]),
                              tzinfo=timezone(-offset if zone.startswith("-") else offset))
            born = moment.astimezone(_CHINA_TIME).date()  # a local midnight sent as 16:00Z is the next day here
    except ValueError:
        return None
    return born.isoformat()


def _telecom(element: etree._Element, type_name: str, _required: bool, findings: list[Finding]) -> None:
    value = element.get("value")
    if value is None or (value.isascii() and _PHONE.fullmatch(value)):
        return
    field = f"/{type_name}/header/patient/telecom/@value"
    fixed = spelled(value)
    with_extension = _PHONE_EXTENSION.fullmatch(fixed)
    if _PHONE.fullmatch(fixed):
        element.set("value", fixed)
        findings.append(Finding("record.patient.telecom.normalized", field))
    elif with_extension is not None:
        element.set("value", with_extension.group(1))
        findings.append(Finding("record.patient.telecom.extension", field))
    else:
        element.getparent().remove(element)
        findings.append(Finding("record.patient.telecom.invalid", field))


def _address(element: etree._Element, type_name: str, _required: bool, findings: list[Finding]) -> None:
    value = element.get("division")
    if value is None or (len(value) == 6 and value.isascii() and value.isdigit()):
        return
    field = f"/{type_name}/header/patient/address/@division"
    fixed = spelled(value)
    if len(fixed) == 6 and fixed.isascii() and fixed.isdigit():
        element.set("division", fixed)
        findings.append(Finding("record.code.normalized", field))
    else:  # the address text is kept; only the code that cannot be one goes
        del element.attrib["division"]
        findings.append(Finding("record.patient.division.invalid", field))


# (child of the patient, attribute, the test that it needs nothing, its repair), in the XSD's order
_PATIENT_FIELDS = (("id", "extension", _plain_identifier, _identifier), ("sex", "code", _SEX_CODES.__contains__, _sex),
                   ("birthDate", "value", _plain_date, _birth_date), ("telecom", "value", _plain_phone, _telecom),
                   ("address", "division", _plain_division, _address))
_PATIENT_TAGS: dict[str, tuple] = {}  # namespace → _PATIENT_FIELDS with each child's qualified tag


# ----- codes -----

def _icd10(document: etree._Element, namespace: str, type_name: str, reader: Reader, findings: list[Finding]) -> None:
    """ICD-10 codes typed in lower case (``j06.9``) or with stray spaces: the category letter upper-cased
    (only it: a national extension such as ``I10.x00x002`` has lower-case letters of its own)."""
    for path, attribute in _icd10_fields(namespace, type_name):
        for element in reader.findall(document, path):
            value = element.get(attribute)
            if value is None or (value[:1].isupper() and value.isascii() and " " not in value):
                continue
            fixed = spelled(value)
            fixed = fixed[:1].upper() + fixed[1:]
            if fixed != value and fixed:
                element.set(attribute, fixed)
                findings.append(Finding("record.code.normalized", field_path(document, element, attribute=attribute)))


def _icd10_fields(namespace: str, type_name: str) -> tuple[tuple[str, str], ...]:
    """(path below the root, attribute) of the fields bound to ICD-10 in ``bindings.json``, per known type."""
    key = (namespace, type_name)
    fields = _ICD10_FIELDS.get(key)
    if fields is None:
        bound = SCHEMAS_DIR / f"v{namespace[len(NAMESPACE_PREFIX):]}" / "bindings.json"
        bindings = json.loads(bound.read_text(encoding="utf-8"))
        rules = [*bindings.get("common", []), *bindings.get("types", {}).get(type_name, [])]
        fields = _ICD10_FIELDS[key] = tuple((rule["path"], rule["attribute"]) for rule in rules
                                            if rule.get("system") == "icd10" and "attribute" in rule)
    return fields


def _codes(document: etree._Element, findings: list[Finding]) -> None:
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in _CODED_ATTRIBUTES:
            value = element.get(attribute)
            if value is None or (value.isascii() and value.strip() == value):
                continue
            fixed = spelled(value)
            if fixed != value and fixed:
                element.set(attribute, fixed)
                findings.append(Finding("record.code.normalized", field_path(document, element, attribute=attribute)))


__all__ = ["normalize_document", "spelled", "resident_id_spelled", "identifier_kinds"]
