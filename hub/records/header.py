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


_HEADER_TAGS = ("id", "version", "effectiveTime", "author", "institution", "practitioner", "patient")
_PATIENT_TAGS = ("id", "name", "sex", "birthDate", "telecom", "address")
# namespace → (schema version, header tags, patient tags), qualified once (validated namespaces only: bounded)
_QUALIFIED: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {}
_NONE = (None,)  # ``(children.get(tag) or _NONE)[-1]``: the last child with the tag (as a pass over the
# children keeping the last one would give), or None; an expression, not a call (read per document)


def read_header(document: etree._Element, reader: Reader | None = None) -> tuple[DocumentHeader, Reader]:
    """The header of a validated document, and a reader bound to its namespace (no paths).

    ``reader``: the one validation used, if any: the header's and the patient's children are taken
    from its child index (built once for normalization and validation), not walked again.
    """
    tag = document.tag  # validated: "{urn:hie:doc:vN}Type"
    namespace, _, type_name = tag[1:].partition("}")
    qualified = _QUALIFIED.get(namespace) if tag.startswith("{") else None
    if qualified is None:
        qualified = _qualify(namespace if tag.startswith("{") else "")
    schema_version, (t_id, t_version, t_effective, t_author, t_institution, t_practitioner, t_patient), _ = qualified
    r = reader if reader is not None and reader.namespace == namespace else Reader(namespace)
    children = r.children(document[0])
    header_id = (children.get(t_id) or _NONE)[-1]
    version = (children.get(t_version) or _NONE)[-1]
    effective = (children.get(t_effective) or _NONE)[-1]
    institution = practitioner = None
    for part in (children.get(t_author) or _NONE)[-1]:
        if part.tag == t_institution:
            institution = part.get("code")
        elif part.tag == t_practitioner:
            practitioner = part.get("code")
    patient = (children.get(t_patient) or _NONE)[-1]
    return DocumentHeader(type_name=type_name, schema_version=schema_version, namespace=namespace,
                          id_root=header_id.get("root"), document_id=header_id.get("extension"),
                          version=int(version.text),
                          effective_time=parse_datetime(effective.get("value")),
                          institution=institution, practitioner_code=practitioner,
                          patient=None if patient is None else read_patient(r, patient)), r


def _qualify(namespace: str) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """(schema version, header tags, patient tags) of a canonical namespace (``RecordError`` for another);
    remembered: two string concatenations a tag cost ~1.5k instructions a document (callgrind)."""
    match = NAMESPACE.match(namespace)
    if match is None:
        raise RecordError("record.type.unknown", "namespace is not a canonical document namespace")
    prefix = "{" + namespace + "}"
    qualified = (int(match.group(1)), tuple(prefix + name for name in _HEADER_TAGS),
                 tuple(prefix + name for name in _PATIENT_TAGS))
    if len(_QUALIFIED) < 64:  # a handful of schema versions; never grown by odd input
        _QUALIFIED[namespace] = qualified
    return qualified


def read_patient(r: Reader, el) -> PatientTraits:
    """The patient element of a header as matching traits (identifiers by kind, demographics)."""
    kinds = identifier_kinds()
    qualified = _QUALIFIED.get(r.namespace) or _qualify(r.namespace)
    t_id, t_name, t_sex, t_birth, t_telecom, t_address = qualified[2]
    children = r.children(el)
    identifiers = []
    for child in children.get(t_id, ()):
        root = child.get("root")
        identifiers.append((kinds.get(root, "other"), root, child.get("extension").strip()))
    values = {}
    if (name := (children.get(t_name) or _NONE)[-1]) is not None:
        values["name"] = (name.text or "").strip() or None
    if (sex := (children.get(t_sex) or _NONE)[-1]) is not None:
        values["sex"] = sex.get("code")
    if (birth := (children.get(t_birth) or _NONE)[-1]) is not None:
        values["birth_date"] = parse_date(birth.get("value"))
    if (telecom := (children.get(t_telecom) or _NONE)[-1]) is not None:
        values["phone"] = telecom.get("value")
    if (address := (children.get(t_address) or _NONE)[-1]) is not None:
        values["division"] = address.get("division")
        values["address"] = (address.text or "").strip() or None
    return PatientTraits(identifiers=tuple(identifiers), **values)


__all__ = ["DocumentHeader", "read_header", "read_patient", "identifier_kinds"]
