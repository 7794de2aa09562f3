"""Read the common document header (the CDA-style part every canonical document starts with).

Runs after XSD validation, so the structure is known to be right; this only turns it into values.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from lxml import etree

from protocol.errors import RecordError
from schemas.reader import Reader, parse_date, parse_datetime

from ..mpi import PatientTraits

NAMESPACE = re.compile(r"^urn:hie:doc:v(\d+)$")
_IDENTIFIER_KINDS: dict[str, str] | None = None


class DocumentHeader(NamedTuple):
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


def identifier_kinds() -> dict[str, str]:
    """root OID → identifier kind (resident_id, health_record_no, …) from the code list."""
    global _IDENTIFIER_KINDS
    if _IDENTIFIER_KINDS is None:
        from schemas.terminology import value_set

        _IDENTIFIER_KINDS = {concept.code: concept.extra.get("kind", "") for concept in value_set("identifier-roots")}
    return _IDENTIFIER_KINDS


def read_header(document: etree._Element, reader: Reader | None = None) -> tuple[DocumentHeader, Reader]:
    """The header of a validated document, and a reader bound to its namespace (one pass, no paths).

    ``reader``: the one validation used, if any (its child index is reused).
    """
    tag = document.tag  # validated: "{urn:hie:doc:vN}Type"
    namespace, _, type_name = tag[1:].partition("}")
    match = NAMESPACE.match(namespace) if tag.startswith("{") else None
    if match is None:
        raise RecordError("record.type.unknown", "namespace is not a canonical document namespace")
    r = reader if reader is not None and reader.namespace == namespace else Reader(namespace)
    cut = len(r._prefix)
    fields: dict = {}
    header = document[0]
    for child in header:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        local = tag[cut:]
        if local == "id":
            fields["id_root"], fields["document_id"] = child.get("root"), child.get("extension")
        elif local == "version":
            fields["version"] = int(child.text)
        elif local == "effectiveTime":
            fields["effective_time"] = parse_datetime(child.get("value"))
        elif local == "author":
            for part in child:
                if part.tag == r._prefix + "institution":
                    fields["institution"] = part.get("code")
                elif part.tag == r._prefix + "practitioner":
                    fields["practitioner_code"] = part.get("code")
        elif local == "patient":
            fields["patient"] = read_patient(r, child)
    return DocumentHeader(type_name=type_name, schema_version=int(match.group(1)), namespace=namespace,
                          id_root=fields["id_root"], document_id=fields["document_id"], version=fields["version"],
                          effective_time=fields["effective_time"], institution=fields["institution"],
                          practitioner_code=fields.get("practitioner_code"), patient=fields.get("patient")), r


def read_patient(r: Reader, el) -> PatientTraits:
    """The patient element of a header as matching traits (identifiers by kind, demographics)."""
    kinds = identifier_kinds()
    cut = len(r._prefix)
    identifiers, values = [], {}
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        local = tag[cut:]
        if local == "id":
            root = child.get("root")
            identifiers.append((kinds.get(root, "other"), root, child.get("extension").strip()))
        elif local == "name":
            values["name"] = (child.text or "").strip() or None
        elif local == "sex":
            values["sex"] = child.get("code")
        elif local == "birthDate":
            values["birth_date"] = parse_date(child.get("value"))
        elif local == "telecom":
            values["phone"] = child.get("value")
        elif local == "address":
            values["division"] = child.get("division")
            values["address"] = (child.text or "").strip() or None
    return PatientTraits(identifiers=tuple(identifiers), **values)


__all__ = ["DocumentHeader", "read_header", "read_patient", "identifier_kinds"]
