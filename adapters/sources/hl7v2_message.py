"""Read values out of one parsed HL7 v2 message: fields, repetitions, options, the patient.

python-hl7 does the ER7 split (segments, fields, repetitions, components, sub-components) and
keeps every segment, Z-segments included, in order. Values are read through ``Hl7Message.get``,
which tolerates absent trailing parts (HIS senders drop empty trailing fields) and decodes
escapes with ``hl7v2_text.unescape``. Scalar values that sites put in odd places can be moved by
the ``fields`` option (``{"occupation": "ZPI-3"}``): that is the only way Z-segments are read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import hl7

from schemas.terminology import ancestors, lookup

from .documents import Patient
from .hl7v2_text import lines, unescape
from .values import DEFAULT_OFFSET, SourceProblem, clean_text, iso_date, iso_datetime, person_name

_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})-(\d{1,3})(?:\.(\d{1,2}))?(?:\.(\d{1,2}))?")
# Where each scalar value is read by default; the ``fields`` option overrides any of them.
DEFAULT_LOCATIONS = {
    "patient_class": "PV1-2", "ward": "PV1-3", "department": "PV1-10", "discharge_outcome": "PV1-36",
    "visit_number": "PV1-19", "admission_time": "PV1-44", "discharge_time": "PV1-45",
    "total_charges": "PV1-47", "marital_status": "PID-16", "ethnicity": "PID-22", "nationality": "PID-28",
}
# Read only when configured: a HIS that numbers its own documents gives ``document_id`` (a visit's
# or stay's id, taken as it is) and ``version`` (a revision counter) in a Z-segment.
OPTIONAL_SLOTS = ("occupation", "charges.drugs", "charges.examinations", "charges.treatment", "charges.other",
                  "document_id", "version")
DEFAULT_IDENTIFIER_TYPES = {  # CX-5 identifier type → identifier root (see docs/adapters.md)
    "NNCHN": "2.16.156.10011.1.3", "NN": "2.16.156.10011.1.3",
    "JHN": "2.16.156.10011.1.2", "HC": "2.16.156.10011.1.19",
}
DEFAULT_SEX = {"M": "1", "F": "2", "U": "0", "O": "9", "A": "9", "N": "9"}  # HL7 0001 → GB/T 2261.1
DEFAULT_MARITAL = {"S": "10", "M": "20", "W": "30", "D": "40"}  # HL7 0002 → GB/T 2261.2
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_PHONE = re.compile(r"\+?[0-9][0-9\-]{4,24}")
_DIVISION = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Hl7Options:
    """The ``hl7v2`` source's options (see docs/adapters.md)."""

    default_charset: str = "UNICODE UTF-8"
    timezone: str = DEFAULT_OFFSET
    identifier_types: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IDENTIFIER_TYPES))
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    visit_events: frozenset[str] = frozenset({"A03"})
    missing_charges: str = "quarantine"

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> "Hl7Options":
        unknown_slots = set(options.get("fields", {})) - set(DEFAULT_LOCATIONS) - set(OPTIONAL_SLOTS)
        bad_locations = [v for v in options.get("fields", {}).values() if not _LOCATION.fullmatch(str(v))]
        if unknown_slots or bad_locations or options.get("missing_charges", "quarantine") not in ("quarantine", "zero"):
            raise ValueError("hl7v2 options: unknown field slot, bad field location or bad missing_charges")
        return cls(default_charset=options.get("default_charset", cls.default_charset),
                   timezone=options.get("timezone", cls.timezone),
                   identifier_types={**DEFAULT_IDENTIFIER_TYPES, **options.get("identifier_types", {})},
                   codes=options.get("codes", {}), fields=dict(options.get("fields", {})),
                   visit_events=frozenset(options.get("visit_events", ("A03",))),
                   missing_charges=options.get("missing_charges", "quarantine"))


def _pick(node: Any, index: int) -> Any:
    if isinstance(node, str):
        return node if index == 1 else ""
    return node[index - 1] if 0 < index <= len(node) else ""


class Hl7Message:
    """One decoded, parsed message and the options it is read with."""

    def __init__(self, text: str, codec: str, options: Hl7Options):
        try:
            self.tree = hl7.parse(text)
            self.encoding_characters = str(self.tree[0][2])
            self.field_separator = str(self.tree[0][1])
        except Exception:  # noqa: BLE001 - python-hl7's messages quote the input
            raise SourceProblem("source.hl7.malformed", "message cannot be parsed as HL7 v2", "MSH") from None
        self.codec = codec
        self.options = options

    def segments(self, name: str) -> list:
        return [segment for segment in self.tree if str(segment[0]) == name]

    def first(self, name: str):
        found = self.segments(name)
        return found[0] if found else None

    def require(self, name: str):
        segment = self.first(name)
        if segment is None:
            raise SourceProblem("source.hl7.segment.missing", "a required segment is missing", name)
        return segment

    def get(self, segment, number: int, component: int = 1, sub: int = 1, repetition: int | None = None) -> str:
        """A one-line leaf value (code, number, time, identifier), unescaped and trimmed; '' when the
        segment or any part is absent. Without ``repetition`` the field is single-valued: several
        different repetitions raise ``source.hl7.repetition.ambiguous``; a line break escape inside
        the value raises ``source.hl7.escape.invalid`` (a code or a number cannot hold one)."""
        value = self._leaf(segment, number, component, sub, repetition)
        if "\n" in value:
            raise SourceProblem("source.hl7.escape.invalid", "a line break in a field that cannot hold one",
                                f"{segment[0]}-{number}")
        return value

    def label(self, segment, number: int, component: int = 1, sub: int = 1, repetition: int | None = None) -> str:
        """Text written as an attribute or a name (displayName, person names): line breaks become spaces."""
        return clean_text(self._leaf(segment, number, component, sub, repetition))

    def text(self, segment, number: int, component: int = 1, sub: int = 1, repetition: int | None = None) -> str:
        """Free text written as element text (a result, an address, a ward): ``\\.br\\`` stays a line break."""
        return lines(self._leaf(segment, number, component, sub, repetition))

    def as_typed(self, segment, number: int) -> str:
        """A plain-text (ST) field exactly as the sender typed it: delimiters it did not escape (``0~2``,
        ``阳性^2+``) are kept as characters, line breaks as line breaks."""
        if segment is None or number >= len(segment):
            return ""
        return lines(unescape(str(segment[number]), encoding_characters=self.encoding_characters,
                              field_separator=self.field_separator, codec=self.codec, field=f"{segment[0]}-{number}"))

    def _leaf(self, segment, number: int, component: int, sub: int, repetition: int | None) -> str:
        if segment is None or number >= len(segment):
            return ""
        if repetition is None:
            repetition = self._only_repetition(segment, number)
        node = _pick(_pick(_pick(segment[number], repetition), component), sub)
        while not isinstance(node, str):  # deeper than asked: follow the first child
            node = _pick(node, 1)
        location = f"{segment[0]}-{number}"
        return unescape(node, encoding_characters=self.encoding_characters, field_separator=self.field_separator,
                        codec=self.codec, field=location).strip()

    def _only_repetition(self, segment, number: int) -> int:
        """The one repetition of a single-valued field that holds something (1 when none does).
        Empty repetitions and exact repeats of the same value are not ambiguous; different values are."""
        field = segment[number]
        if isinstance(field, str) or len(field) < 2:
            return 1
        filled = self.filled_repetitions(segment, number)
        if len({str(field[position - 1]) for position in filled}) > 1:
            raise SourceProblem("source.hl7.repetition.ambiguous",
                                "a single-valued field holds several different repetitions", f"{segment[0]}-{number}")
        return filled[0] if filled else 1

    def filled_repetitions(self, segment, number: int) -> list[int]:
        """The repetitions of a field that hold something (not only delimiters or spaces), in order."""
        if segment is None or number >= len(segment):
            return []
        field = segment[number]
        if isinstance(field, str):
            return [1] if field.strip() else []
        blank = self.encoding_characters[:1] + self.encoding_characters[3:4] + " "
        return [position for position, r in enumerate(field, start=1) if str(r).strip(blank)]

    def repetitions(self, segment, number: int) -> int:
        return len(segment[number]) if segment is not None and number < len(segment) else 0

    def slot(self, name: str, *, text: bool = False) -> tuple[str, str]:
        """A single-valued value by slot name, from its configured or default location; (value,
        location). ``text`` reads it as free text (line breaks kept), else as a one-line value."""
        location = self.options.fields.get(name) or DEFAULT_LOCATIONS.get(name)
        if not location:
            return "", ""
        match = _LOCATION.fullmatch(location)
        parts = [int(p) for p in match.groups()[1:] if p]
        read = self.text if text else self.get
        return read(self.first(match.group(1)), *parts), location

    def code(self, table: str, value: str, defaults: Mapping[str, str] | None = None) -> str:
        """A local code translated by the ``codes`` option (then by built-in defaults, if any)."""
        translated = self.options.codes.get(table, {})
        return translated.get(value) or (defaults or {}).get(value) or value

    def time(self, value: str, location: str) -> str:
        return iso_datetime(value, field=location, default_offset=self.options.timezone,
                            code="source.hl7.datetime.invalid")

    def person(self, segment, number: int, *, repeating: bool = False) -> tuple[str, str] | None:
        """(code, name) of an XCN practitioner field, or None. A ``repeating`` field (PV1-7, OBR-16,
        ORC-12, RXD-10 in HL7 2.5) gives its first practitioner, the one HL7 lists first."""
        repetition = 1 if repeating else None
        code = self.get(segment, number, 1, repetition=repetition)
        return (code, person_name(self.label(segment, number, 2, repetition=repetition),
                                  self.label(segment, number, 3, repetition=repetition))) if code else None


def patient_of(message: Hl7Message) -> Patient:
    """The header patient from PID (identifiers, legal name, sex, birth date, phone, address)."""
    pid = message.require("PID")
    patient = Patient(ids=_identifiers(message, pid))
    names = [(message.get(pid, 5, 7, repetition=r), r) for r in range(1, message.repetitions(pid, 5) + 1)]
    chosen = next((r for kind, r in names if kind == "L"), 1)
    patient.name = person_name(message.label(pid, 5, 1, repetition=chosen),
                               message.label(pid, 5, 2, repetition=chosen))
    sex = message.get(pid, 8)
    patient.sex = message.code("sex", sex, DEFAULT_SEX) if sex else ""
    birth = message.get(pid, 7)
    patient.birth_date = iso_date(birth, field="PID-7", code="source.hl7.datetime.invalid") if birth else ""
    patient.telecom = phone_of(message, pid, 13)
    patient.address, patient.division = _address(message, pid)
    return patient


def _address(message: Hl7Message, pid) -> tuple[str, str]:
    """PID-11, its first repetition (HL7: the primary address comes first): (text, GB/T 2260 division).
    The division is XAD-9, else a 6-digit code given in XAD-3 or XAD-4. An address that holds only
    codes keeps its division, its text being the division's name (the canonical text is required)."""
    street, other, city, state = (message.text(pid, 11, c, repetition=1) for c in (1, 2, 3, 4))
    county = message.get(pid, 11, 9, repetition=1)
    division = next((p for p in (county, city, state) if _DIVISION.fullmatch(p)), "")
    # Chinese HIS often write the full address in XAD-1 already; prepend province/city only if missing.
    prefix = "".join(p for p in (state, city) if p and not _DIVISION.fullmatch(p) and p not in street)
    text = lines(prefix + street + other)[:200]
    return (text or division_name(division), division) if division else (text, "")


def division_name(code: str) -> str:
    """``浙江省杭州市西湖区`` for 330106 (from the divisions code list), the code itself if unknown."""
    concept = lookup("divisions", code)
    if concept is None:
        return code
    return "".join(c.display for c in [*reversed(ancestors("divisions", code)), concept])


def _identifiers(message: Hl7Message, pid) -> list[tuple[str, str]]:
    """PID-3 repetitions. The root is the assigning authority's OID (CX-4.2) or, failing that, the
    ``identifier_types`` entry of the identifier type code (CX-5); identifiers with neither (an
    institution's internal numbers) are not sent, since the hub could not tell what they are."""
    found: list[tuple[str, str]] = []
    for repetition in range(1, message.repetitions(pid, 3) + 1):
        value = message.get(pid, 3, 1, repetition=repetition)
        authority = message.get(pid, 3, 4, 2, repetition=repetition)
        root = authority if _OID.fullmatch(authority) else \
            message.options.identifier_types.get(message.get(pid, 3, 5, repetition=repetition), "")
        if value and root:
            found.append((root, value))  # as typed (a lower-case x too): the hub normalizes and reports it
    return found


def phone_of(message: Hl7Message, segment, number: int) -> str:
    """PID-13 / NK1-5, the first repetition that holds a phone number: XTN-1 (v2.3 style), else XTN-12
    unformatted, else XTN-6 + XTN-7. Other repetitions (e-mail, fax) are not phones; none → ''."""
    for r in message.filled_repetitions(segment, number):
        candidates = (message.get(segment, number, 1, repetition=r), message.get(segment, number, 12, repetition=r),
                      message.get(segment, number, 6, repetition=r) + message.get(segment, number, 7, repetition=r))
        found = next((c for c in candidates if _PHONE.fullmatch(c)), "")
        if found:
            return found
    return ""


__all__ = ["Hl7Options", "Hl7Message", "patient_of", "person_name", "phone_of", "division_name", "DEFAULT_LOCATIONS",
           "OPTIONAL_SLOTS"]
