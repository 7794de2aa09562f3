"""Read the common document header (the CDA-style part every canonical document starts with).

Runs after XSD validation, so the structure is known to be right; this only turns it into values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from lxml import etree

from ..errors import RecordError
from ..mpi import PatientTraits

NAMESPACE = re.compile(r"^urn:hie:doc:v(\d+)$")
_IDENTIFIER_KINDS: dict[str, str] | None = None


@dataclass(frozen=True)
class DocumentHeader:
    type_name: str
    schema_version: int
    namespace: str
    id_root: str
    document_id: str
    version: int
    effective_time: datetime  # UTC
    institution: str
    practitioner_code: str | None
    patient: PatientTraits | None


class Reader:
    """Namespace-bound lookups on one document (``r.text(el, "body/visitTime")`` etc.)."""

    __slots__ = ("ns", "_prefix")

    def __init__(self, namespace: str):
        self.ns = {"d": namespace}
        self._prefix = "{" + namespace + "}"

    def path(self, path: str) -> str:
        return "/".join(self._prefix + part if part not in (".", "..") else part for part in path.split("/"))

    def find(self, el, path: str):
        return el.find(self.path(path))

    def findall(self, el, path: str) -> list:
        return el.findall(self.path(path))

    def text(self, el, path: str) -> str | None:
        found = el.find(self.path(path))
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def attr(self, el, path: str, name: str = "value") -> str | None:
        found = el.find(self.path(path))
        return None if found is None else found.get(name)

    def code(self, el, path: str) -> str | None:
        return self.attr(el, path, "code")


def parse_datetime(value: str) -> datetime:
    """xs:dateTime with an offset (the XSD requires one) → aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # the XSD forbids it; be safe anyway: the region's local time
        raise RecordError("record.schema.invalid", "dateTime without offset")
    return parsed.astimezone(timezone.utc)


def parse_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value[:10])


def parse_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def parse_int(value: str | None) -> int | None:
    return None if value is None else int(Decimal(value))


def identifier_kinds() -> dict[str, str]:
    """root OID → identifier kind (resident_id, health_record_no, …) from the code list."""
    global _IDENTIFIER_KINDS
    if _IDENTIFIER_KINDS is None:
        from ..terminology import value_set

        _IDENTIFIER_KINDS = {concept.code: concept.extra.get("kind", "") for concept in value_set("identifier-roots")}
    return _IDENTIFIER_KINDS


def read_header(document: etree._Element) -> tuple[DocumentHeader, Reader]:
    """The header of a validated document, and a reader bound to its namespace."""
    qname = etree.QName(document)
    match = NAMESPACE.match(qname.namespace or "")
    if match is None:
        raise RecordError("record.type.unknown", "namespace is not a canonical document namespace")
    r = Reader(qname.namespace)
    header = r.find(document, "header")
    doc_id = r.find(header, "id")
    patient_el = r.find(header, "patient")
    return DocumentHeader(
        type_name=qname.localname,
        schema_version=int(match.group(1)),
        namespace=qname.namespace,
        id_root=doc_id.get("root"),
        document_id=doc_id.get("extension"),
        version=int(r.text(header, "version")),
        effective_time=parse_datetime(r.attr(header, "effectiveTime")),
        institution=r.code(header, "author/institution"),
        practitioner_code=r.code(header, "author/practitioner"),
        patient=None if patient_el is None else _patient(r, patient_el),
    ), r


def _patient(r: Reader, el) -> PatientTraits:
    kinds = identifier_kinds()
    identifiers = tuple((kinds.get(id_el.get("root"), "other"), id_el.get("root"), id_el.get("extension").strip())
                        for id_el in r.findall(el, "id"))
    address = r.find(el, "address")
    return PatientTraits(
        identifiers=identifiers,
        name=r.text(el, "name"),
        sex=r.code(el, "sex"),
        birth_date=parse_date(r.attr(el, "birthDate")),
        phone=r.attr(el, "telecom"),
        division=None if address is None else address.get("division"),
        address=None if address is None or not address.text else address.text.strip(),
    )


__all__ = ["DocumentHeader", "Reader", "read_header", "parse_datetime", "parse_date", "parse_decimal", "parse_int",
           "identifier_kinds"]
