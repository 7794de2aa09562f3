"""Infectious-disease report cards for the workflow tests, made from the integrator example
(schemas/examples/InfectiousDiseaseReport.xml: a synthetic child with hand, foot and mouth disease)."""
from __future__ import annotations

import copy

from lxml import etree

from tests.support.documents import DOC_NS, document

PLAGUE, CHOLERA, SARS, MEASLES, HFMD = ("101", "A"), ("102", "A"), ("201", "B"), ("206", "B"), ("311", "C")


def _q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


def disease_report(document_id: str, *, disease: tuple[str, str] = PLAGUE, division: str = "330102",
                   institution: str = "CLINIC01", version: int | None = None) -> etree._Element:
    """A report card of ``disease`` (code, class) whose patient lives in ``division``."""
    doc = document("InfectiousDiseaseReport", institution=institution, document_id=document_id, version=version)
    body = doc.find(_q("body"))
    body.find(_q("disease")).attrib.update({"code": disease[0], "displayName": "合成病名"})
    body.find(_q("diseaseClass")).set("code", disease[1])
    body.find(_q("currentAddress")).set("division", division)
    return doc


def cancellation(document_id: str, target: str, *, institution: str = "CLINIC01") -> etree._Element:
    doc = copy.deepcopy(document("Cancellation", institution=institution, document_id=document_id))
    doc.find(_q("body/target")).set("extension", target)
    return doc
