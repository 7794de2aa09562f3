"""Validate a canonical document: its type and schema version, its XSD, then its coded fields.

The schemas live in ``schemas/v<N>/<Type>.xsd`` (namespace ``urn:hie:doc:v<N>``); which field uses
which code list is data (``schemas/v<N>/bindings.json``), checked against ``schemas.terminology``.
A code a list lacks is refused (``record.code.unknown``) unless its binding is open (``"unverified"``)
and the code well-formed for its system (``terminology.forms``): then the document is kept and the
finding ``record.code.unverified`` appended to ``findings`` (docs/code-lists.md).
Everything is compiled on first use and cached per thread (lxml validators and XPath objects keep
per-call state and must not be shared between threads); the bindings are compiled again when the
process's code lists change (an import reached it: ``terminology.generation``), the XSDs are not.

Rejections are ``RecordError``s whose ``field`` is a path such as
``/OutpatientVisit/body/charges/charge[2]`` and whose ``detail`` is a fixed English phrase:
neither ever carries a value from the document (libxml2's messages do, so they are not used).
Names of elements the schemas do not declare are rendered as ``*``.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, NamedTuple

from lxml import etree

from protocol.errors import RecordError
from protocol.findings import Finding

from . import SCHEMAS_DIR
from .reader import Reader
from .terminology import code_systems, generation
from .terminology.forms import has_form, well_formed

NAMESPACE_PREFIX = "urn:hie:doc:v"
_XS = "{http://www.w3.org/2001/XMLSchema}"


class DocumentKind(NamedTuple):
    """What a document is: its type (root local name), schema version and namespace."""

    type_name: str
    schema_version: int
    namespace: str


# ----- what exists: versions and types (from the files, read once) -----

@dataclass(frozen=True)
class _Version:
    number: int
    namespace: str
    directory: Path
    types: frozenset[str]
    bindings: dict
    element_names: frozenset[str]
    attribute_names: frozenset[str]


def _read_version(directory: Path, number: int) -> _Version:
    types, elements, attributes = set(), set(), set()
    for xsd in directory.glob("*.xsd"):
        tree = etree.parse(str(xsd))
        if xsd.stem != "common":
            types.add(xsd.stem)
        elements.update(el.get("name") for el in tree.iter(_XS + "element") if el.get("name"))
        attributes.update(el.get("name") for el in tree.iter(_XS + "attribute") if el.get("name"))
    bindings = json.loads((directory / "bindings.json").read_text(encoding="utf-8"))
    missing = types - set(bindings["types"])
    if missing:
        raise RuntimeError(f"bindings.json of v{number} has no entry for {sorted(missing)}")
    return _Version(number, f"{NAMESPACE_PREFIX}{number}", directory, frozenset(types), bindings,
                    frozenset(elements), frozenset(attributes))


_versions_lock = threading.Lock()
_versions: dict[str, _Version] | None = None


def _known_versions() -> dict[str, _Version]:
    """namespace → version, for every ``schemas/v<N>/`` directory."""
    global _versions
    if _versions is None:
        with _versions_lock:
            if _versions is None:
                found = {}
                for directory in sorted(SCHEMAS_DIR.glob("v[0-9]*")):
                    if directory.is_dir() and directory.name[1:].isdigit():
                        version = _read_version(directory, int(directory.name[1:]))
                        found[version.namespace] = version
                _versions = found
    return _versions


def document_kind(document: etree._Element) -> DocumentKind:
    """The type and version of a document from its root; ``record.type.unknown`` if not known."""
    tag = document.tag
    if isinstance(tag, str) and tag.startswith("{" + NAMESPACE_PREFIX):
        namespace, _, local = tag[1:].partition("}")
        version = _known_versions().get(namespace)
        if version is not None and local in version.types:
            return DocumentKind(local, version.number, namespace)
    raise RecordError("record.type.unknown", "root element is not a known document type and schema version")


def open_code_systems() -> frozenset[str]:
    """The code systems of which some binding keeps a well-formed unlisted code (``"unverified"``)."""
    return frozenset(rule["system"] for version in _known_versions().values()
                     for rules in (version.bindings.get("common", []), *version.bindings["types"].values())
                     for rule in rules if rule.get("unverified"))


# ----- compiled per thread: schema + bindings of one type -----

@dataclass(frozen=True)
class _Binding:
    path: str  # child path below the root of the elements carrying the coded attribute
    attribute: str
    system: str
    concepts: Mapping  # code → Concept of that system (resolved once at compile time)
    prefix: int | None
    key: etree.XPath | None  # value naming the referenced concept (None: the document type)
    column: str | None
    unverified: bool = False  # a well-formed code the list lacks is kept, with record.code.unverified


@dataclass(frozen=True)
class _Unique:
    path: str
    attribute: str


@dataclass(frozen=True)
class _TypeValidator:
    kind: DocumentKind
    version: _Version
    schema: etree.XMLSchema
    uniques: tuple[_Unique, ...]
    bindings: tuple[_Binding, ...]
    identifiers: str  # child path of the patient identifiers
    id_patterns: dict


def _xpath(path: str, namespace: str) -> etree.XPath:
    # "body/disease/@code" → "d:body/d:disease/@code", relative to the root
    steps = [step if step.startswith("@") else "d:" + step for step in path.split("/")]
    return etree.XPath("/".join(steps), namespaces={"d": namespace})


def _child_path(path: str) -> str:
    """Binding paths are element names below the root ("body/item/drug"), read through the
    document's ``Reader``; anything else is a mistake in bindings.json."""
    if not re.fullmatch(r"[A-Za-z][\w.-]*(/[A-Za-z][\w.-]*)*", path):
        raise RuntimeError(f"bindings.json path is not a plain child path: {path!r}")
    return path


def _concepts(system: str) -> Mapping:
    loaded = code_systems().get(system)
    if loaded is None:
        raise RuntimeError(f"bindings.json names an unknown code system {system!r}")
    return loaded.by_code


def _unverified(rule: dict) -> bool:
    if not rule.get("unverified"):
        return False
    if rule.get("column") or not has_form(rule["system"]):
        raise RuntimeError(f"bindings.json: {rule['path']} cannot accept unverified codes of {rule['system']!r} "
                           "(no form to check them, or a column match)")
    return True


def _compile(kind: DocumentKind, version: _Version) -> _TypeValidator:
    ns = version.namespace
    schema = _cache.schemas.get((kind.namespace, kind.type_name))
    if schema is None:
        schema = etree.XMLSchema(etree.parse(str(version.directory / f"{kind.type_name}.xsd")))
        _cache.schemas[(kind.namespace, kind.type_name)] = schema
    rules = [*version.bindings.get("common", []), *version.bindings["types"][kind.type_name]]
    for rule in rules:
        _child_path(rule["path"])
    uniques = tuple(_Unique(rule["path"], rule["attribute"]) for rule in rules if rule.get("unique"))
    bindings = tuple(_Binding(
        path=rule["path"], attribute=rule["attribute"], system=rule["system"],
        concepts=_concepts(rule["system"]), prefix=rule.get("prefix"),
        key=None if rule.get("key", "$type") == "$type" else _xpath(rule["key"], ns), column=rule.get("column"),
        unverified=_unverified(rule),
    ) for rule in rules if not rule.get("unique"))
    ids = version.bindings.get("identifiers", {})
    patterns = {root: re.compile(pattern) for root, pattern in ids.get("patterns", {}).items()}
    identifiers = _child_path(ids.get("path", "header/patient/id"))
    return _TypeValidator(kind, version, schema, uniques, bindings, identifiers, patterns)


class _Cache(threading.local):
    def __init__(self):
        self.validators: dict[tuple[str, str], _TypeValidator] = {}
        self.schemas: dict[tuple[str, str], etree.XMLSchema] = {}
        self.generation = -1  # of the code lists the validators' bindings were resolved against


_cache = _Cache()


def _validator(kind: DocumentKind) -> _TypeValidator:
    current = generation()
    if current != _cache.generation:  # the code lists changed (an import): resolve the bindings again
        _cache.validators.clear()
        _cache.generation = current
    key = (kind.namespace, kind.type_name)
    compiled = _cache.validators.get(key)
    if compiled is None:
        compiled = _cache.validators[key] = _compile(kind, _known_versions()[kind.namespace])
    return compiled


def compile_all() -> int:
    """Compile the validator of every known type and version in this thread; how many there are."""
    count = 0
    for version in _known_versions().values():
        for type_name in sorted(version.types):
            _validator(DocumentKind(type_name, version.number, version.namespace))
            count += 1
    return count


# ----- the checks -----

def validate(document: etree._Element, findings: list[Finding] | None = None) -> DocumentKind:
    """Check a parsed document against its XSD and code lists; return its kind or raise ``RecordError``.

    ``findings``: where a check that does not refuse the document (``protocol.findings``) puts what
    it found; without it, such findings are not collected (the document passes all the same)."""
    return validated(document, findings)[0]


def validated(document: etree._Element, findings: list[Finding] | None = None, *,
              reader: Reader | None = None) -> tuple[DocumentKind, Reader]:
    """``validate``, also returning the document's ``Reader``, whose child index the normalizer
    then reuses. The coded fields are read through it, not with XPath: an lxml XPath call costs
    ~10k instructions of set-up, and a dozen of them per document cost more than walking the tree.
    ``reader``: the one ``schemas.normalize`` found the fields with (its index is reused)."""
    kind = document_kind(document)
    compiled = _validator(kind)
    if not compiled.schema.validate(document):
        raise _schema_error(document, compiled)
    if reader is None or reader.namespace != kind.namespace:
        reader = Reader(kind.namespace)
    _check_unique(document, compiled, reader)
    _check_identifiers(document, compiled, reader)
    _check_codes(document, compiled, reader, findings)
    return kind, reader


def validate_shape(document: etree._Element) -> DocumentKind:
    """``validate`` without the code lists: the XSD, the identifiers' formats and each code's form.

    A code malformed for a system with a form (``terminology.forms``) is refused whatever a list holds;
    a well-formed code a list lacks passes, and so does any code of a system without a form. For a party
    whose lists may be older than the hub's, which decides on codes (the clinic agent, docs/code-lists.md)."""
    kind = document_kind(document)
    compiled = _validator(kind)
    if not compiled.schema.validate(document):
        raise _schema_error(document, compiled)
    reader = Reader(kind.namespace)
    _check_unique(document, compiled, reader)
    _check_identifiers(document, compiled, reader)
    for binding in compiled.bindings:
        if binding.column is None and has_form(binding.system):
            for element in reader.findall(document, binding.path):
                code = element.get(binding.attribute)
                if code is not None and code not in binding.concepts and not well_formed(binding.system, code):
                    raise RecordError("record.code.unknown", f"code is not in the code list {binding.system}",
                                      field=field_path(document, element, compiled.version, binding.attribute))
    return kind


def _check_unique(document, compiled: _TypeValidator, reader: Reader) -> None:
    for rule in compiled.uniques:
        seen = set()
        for element in reader.findall(document, rule.path):
            value = element.get(rule.attribute)
            if value in seen:
                raise RecordError("record.schema.invalid",
                                  f"attribute {rule.attribute}: value must be unique but is repeated",
                                  field=field_path(document, element, compiled.version))
            seen.add(value)


def _check_identifiers(document, compiled: _TypeValidator, reader: Reader) -> None:
    if not compiled.id_patterns:
        return
    for element in reader.findall(document, compiled.identifiers):
        pattern = compiled.id_patterns.get(element.get("root"))
        if pattern is not None and pattern.fullmatch(element.get("extension", "")) is None:
            raise RecordError("record.schema.invalid", "identifier extension does not match the format of its root",
                              field=field_path(document, element, compiled.version, "extension"))


def _check_codes(document, compiled: _TypeValidator, reader: Reader, findings: list[Finding] | None) -> None:
    for binding in compiled.bindings:
        for element in reader.findall(document, binding.path):
            code = element.get(binding.attribute)
            if code is None:
                continue  # optional attribute absent: the XSD decides whether that is allowed
            if binding.column is None:
                if code in binding.concepts or (binding.prefix and code[:binding.prefix] in binding.concepts and (
                        not has_form(binding.system) or well_formed(binding.system, code))):
                    continue  # listed, or a well-formed subdivision of a listed category (ICD-10)
                _unlisted_code(document, compiled, binding, element, code, findings)
                continue
            if binding.key is None:
                reference = compiled.kind.type_name
            else:
                keys = binding.key(document)
                reference = str(keys[0]) if keys else None
            concept = None if reference is None else binding.concepts.get(reference)
            if concept is None:
                continue  # the referenced code is reported by its own binding
            if concept.extra.get(binding.column) != code:
                raise RecordError("record.code.unknown",
                                  f"value does not match the {binding.column} of the referenced {binding.system} entry",
                                  field=field_path(document, element, compiled.version, binding.attribute))


def _unlisted_code(document, compiled: _TypeValidator, binding: _Binding, element, code: str,
                   findings: list[Finding] | None) -> None:
    """A code the hub's list lacks: kept with a finding where the binding allows it and the code has
    the shape of a real code of its system (the list may be a sample), refused otherwise."""
    field = field_path(document, element, compiled.version, binding.attribute)
    if not (binding.unverified and well_formed(binding.system, code)):
        raise RecordError("record.code.unknown", f"code is not in the code list {binding.system}", field=field)
    if findings is not None:
        findings.append(Finding("record.code.unverified", field))


# ----- error reporting without document content -----

_REASONS = {
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "a required attribute is missing",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": "attribute not allowed here",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "attribute not allowed here",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": "element must be empty",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "element must not contain text",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": "element must not contain text",
    "SCHEMAV_CVC_ELT_1": "element is not declared",
    "SCHEMAV_CVC_PATTERN_VALID": "value does not have the required format",
    "SCHEMAV_CVC_ENUMERATION_VALID": "value is not one of the allowed values",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "value is below the allowed minimum",
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": "value is below the allowed minimum",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "value is above the allowed maximum",
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": "value is above the allowed maximum",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "value has too many decimal places",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "value has too many digits",
    "SCHEMAV_CVC_MINLENGTH_VALID": "value is too short or empty",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "value is too long",
    "SCHEMAV_CVC_LENGTH_VALID": "value has the wrong length",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "value is not of the required type",
    "SCHEMAV_CVC_ATTRIBUTE_3": "attribute value is not of the required type",
    "SCHEMAV_CVC_AU": "attribute value is not allowed",
}
_ATTRIBUTE_IN_MESSAGE = re.compile(r"attribute '([A-Za-z]+)'")


def _schema_error(document, compiled: _TypeValidator) -> RecordError:
    error = compiled.schema.error_log[0]
    version = compiled.version
    if error.type_name == "SCHEMAV_ELEMENT_CONTENT":
        reason = "a required child element is missing" if "Missing child" in error.message \
            else "element not expected here (wrong name, order or count)"
    else:
        reason = _REASONS.get(error.type_name, "element does not conform to the schema")
    attribute = _ATTRIBUTE_IN_MESSAGE.search(error.message)
    if attribute and attribute.group(1) in version.attribute_names:
        reason = f"attribute {attribute.group(1)}: {reason}"
    return RecordError("record.schema.invalid", reason, field=_error_field(document, error.path, version))


def _error_field(document, libxml_path: str | None, version: _Version) -> str:
    # libxml2 reports positional paths (/*/*[2]/*[4]/*[1]) relative to the validated element.
    element = document
    if libxml_path and libxml_path.startswith("/*"):
        try:
            found = document.xpath("." + libxml_path[2:]) if len(libxml_path) > 2 else [document]
        except etree.XPathError:
            found = []
        if found and isinstance(found[0], etree._Element):
            element = found[0]
    return field_path(document, element, version)


def field_path(document, element, version: _Version | None = None, attribute: str | None = None) -> str:
    """``/Root/child/grandchild[2]/@attr``: indexes only where same-named siblings exist."""
    version = version or _known_versions().get(etree.QName(document).namespace or "")
    known = version.element_names if version is not None else frozenset()
    steps = []
    node = element
    while node is not None:
        steps.append(_step(node, known, version.namespace if version else None, is_root=node is document))
        if node is document:
            break
        node = node.getparent()
    path = "/" + "/".join(reversed(steps))
    return path if attribute is None else f"{path}/@{attribute}"


def _step(node, known: frozenset[str], namespace: str | None, *, is_root: bool) -> str:
    qname = etree.QName(node)
    if qname.namespace == namespace and qname.localname in known:
        name, same = qname.localname, node.tag
    else:
        name, same = "*", None
    if is_root:
        return name
    parent = node.getparent()
    if same is None:  # an undeclared element: its name is document content, so only its position
        siblings = [s for s in parent.iterchildren() if isinstance(s.tag, str)]
        return f"*[{siblings.index(node) + 1}]"
    siblings = list(parent.iterchildren(same))
    return name if len(siblings) == 1 else f"{name}[{siblings.index(node) + 1}]"


__all__ = ["DocumentKind", "compile_all", "validate", "validated", "validate_shape", "document_kind", "field_path",
           "NAMESPACE_PREFIX", "open_code_systems"]
