"""Canonical documents for tests, made from the integrator examples in schemas/examples/.

Each call returns a fresh copy with the author institution, document id, version and (when
asked) patient fields set, so tests can build any scenario from the examples that integrators
copy. Every person in them is synthetic.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

from lxml import etree

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
DOC_NS = "urn:hie:doc:v1"


def _q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


@lru_cache(maxsize=None)
def _example(type_name: str) -> etree._Element:
    return etree.parse(str(EXAMPLES / f"{type_name}.xml")).getroot()


def example_types() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.xml"))


def document(type_name: str, *, institution: str = "CLINIC01", document_id: str | None = None,
             version: int | None = None, patient: dict | None = None) -> etree._Element:
    """A copy of the example of ``type_name`` changed as asked.

    ``patient`` keys: resident_id (replaces the resident-id identifier's extension; None removes
    it), name, birth_date, sex, phone.
    """
    doc = copy.deepcopy(_example(type_name))
    header = doc.find(_q("header"))
    header.find(_q("author/institution")).set("code", institution)
    if document_id is not None:
        header.find(_q("id")).set("extension", document_id)
    if version is not None:
        header.find(_q("version")).text = str(version)
    if patient:
        _set_patient(header.find(_q("patient")), patient)
    return doc


def _set_patient(el: etree._Element, values: dict) -> None:
    from hub.records.header import identifier_kinds

    kinds = identifier_kinds()
    if "resident_id" in values:
        for id_el in el.findall(_q("id")):
            if kinds.get(id_el.get("root")) == "resident_id":
                if values["resident_id"] is None:
                    el.remove(id_el)
                else:
                    id_el.set("extension", values["resident_id"])
    for key, path, attr in (("name", "name", None), ("birth_date", "birthDate", "value"), ("sex", "sex", "code"),
                            ("phone", "telecom", "value")):
        if key in values:
            target = el.find(_q(path))
            if attr is None:
                target.text = values[key]
            else:
                target.set(attr, values[key])


def document_bytes(type_name: str, **changes) -> bytes:
    return etree.tostring(document(type_name, **changes), encoding="utf-8")
