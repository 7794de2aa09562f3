"""Read the common document header (the CDA-style part every canonical document starts with).

Runs after XSD validation, so the structure is known to be right; this only turns it into values.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import NamedTuple

from lxml import etree

from protocol.errors import RecordError
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


class Reader:
    """Namespace-bound lookups in one document (``r.text(el, "body/visitTime")`` etc.).

    One per document: ``validation.validated`` makes it, the header reader and the normalizer
    reuse it. The first lookup below an element indexes its children by tag, once; every later
    step below it is a dict lookup. A normalizer reads a dozen fields of the same body: a compiled
    XPath costs ~1.8 µs a field, lxml's ``find`` ~1.7 µs a step, the index a tenth of that.
    """

    __slots__ = ("namespace", "_prefix", "_paths", "_children")
    _paths_by_namespace: dict[str, dict[str, tuple[str, ...]]] = {}

    def __init__(self, namespace: str):
        self.namespace = namespace
        self._prefix = "{" + namespace + "}"
        self._paths = self._paths_by_namespace.setdefault(namespace, {})  # path → tags, shared
        # element → its children by tag (elements hash by identity; the key keeps the proxy alive)
        self._children: dict[etree._Element, dict[str, list]] = {}

    def _steps(self, path: str) -> tuple[str, ...]:
        steps = self._paths.get(path)
        if steps is None:
            steps = self._paths[path] = tuple(self._prefix + part for part in path.split("/"))
        return steps

    def _index(self, el) -> dict[str, list]:
        index = self._children.get(el)
        if index is None:
            index = self._children[el] = {}
            for child in el:
                index.setdefault(child.tag, []).append(child)  # comments would key by a function: never asked
        return index

    def find(self, el, path: str):
        children = self._children
        for step in self._paths.get(path) or self._steps(path):
            found = (children.get(el) or self._index(el)).get(step)
            if not found:
                return None
            el = found[0]
        return el

    def findall(self, el, path: str) -> list:
        """Every element at ``path`` below ``el``, in document order (as the XPath would select)."""
        children = self._children
        steps = self._paths.get(path) or self._steps(path)
        found = (children.get(el) or self._index(el)).get(steps[0], ())
        for step in steps[1:]:
            if len(found) == 1:
                found = (children.get(found[0]) or self._index(found[0])).get(step, ())
            else:
                found = [child for parent in found
                         for child in (children.get(parent) or self._index(parent)).get(step, ())]
        return list(found)

    def text(self, el, path: str) -> str | None:
        found = self.find(el, path)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def attr(self, el, path: str, name: str = "value") -> str | None:
        found = self.find(el, path)
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
            fields["patient"] = _patient(r, child)
    return DocumentHeader(type_name=type_name, schema_version=int(match.group(1)), namespace=namespace,
                          id_root=fields["id_root"], document_id=fields["document_id"], version=fields["version"],
                          effective_time=fields["effective_time"], institution=fields["institution"],
                          practitioner_code=fields.get("practitioner_code"), patient=fields.get("patient")), r


def _patient(r: Reader, el) -> PatientTraits:
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


__all__ = ["DocumentHeader", "Reader", "read_header", "parse_datetime", "parse_date", "parse_decimal", "parse_int",
           "identifier_kinds"]
