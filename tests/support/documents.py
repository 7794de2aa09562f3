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

    ``patient`` replaces the example's patient entirely (keys: see ``patient_element``).
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


ROOTS = {"resident_id": "2.16.156.10011.1.3", "health_record_no": "2.16.156.10011.1.2",
         "health_card_no": "2.16.156.10011.1.19", "outpatient_no": "2.16.156.10011.1.11"}


def patient_element(values: dict) -> etree._Element:
    """A header ``patient`` element from ``values``: identifier kinds of ``ROOTS``, name, sex,
    birth_date, phone, division, address (absent or None keys are left out)."""
    el = etree.Element(_q("patient"))
    for kind, root in ROOTS.items():
        if values.get(kind):
            etree.SubElement(el, _q("id"), root=root, extension=values[kind])
    if values.get("name"):
        etree.SubElement(el, _q("name")).text = values["name"]
    if values.get("sex"):
        etree.SubElement(el, _q("sex"), code=values["sex"])
    if values.get("birth_date"):
        etree.SubElement(el, _q("birthDate"), value=str(values["birth_date"]))
    if values.get("phone"):
        etree.SubElement(el, _q("telecom"), value=values["phone"])
    if values.get("division"):
        etree.SubElement(el, _q("address"), division=values["division"]).text = values.get("address") or "合成地址"
    return el


def _set_patient(el: etree._Element, values: dict) -> None:
    """Replace the example's patient with one made from ``values`` (see ``patient_element``)."""
    el.getparent().replace(el, patient_element(values))


def document_bytes(type_name: str, **changes) -> bytes:
    return etree.tostring(document(type_name, **changes), encoding="utf-8")
