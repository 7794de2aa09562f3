"""Referral documents for the referral workflow tests, made from the integrator example
(schemas/examples/Referral.xml: a synthetic patient with hypertension referred up by CLINIC01 to HOSP01)."""
from __future__ import annotations

from lxml import etree

from tests.support.documents import DOC_NS, document

PATIENT = {"resident_id": "330106196804120022", "name": "王秀英", "sex": "2", "birth_date": "1968-04-12"}
OTHER_PATIENT = {"resident_id": "330102198001010015", "name": "赵建国", "sex": "1", "birth_date": "1980-01-01"}


def _q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


def referral(document_id: str, *, direction: str = "up", institution: str = "CLINIC01", to: str = "HOSP01",
             patient: dict | None = None, version: int | None = None, summary: str | None = None) -> etree._Element:
    """A referral ``direction`` from ``institution`` to ``to`` about ``patient`` (the example's by default)."""
    doc = document("Referral", institution=institution, document_id=document_id, version=version,
                   patient=patient or PATIENT)
    body = doc.find(_q("body"))
    body.find(_q("direction")).set("code", direction)
    body.find(_q("toInstitution")).attrib.update({"code": to, "name": "合成机构"})
    if direction == "down":
        body.remove(body.find(_q("requestedDepartment")))
        body.find(_q("reason")).text = "住院治疗后病情稳定，转回社区随访"
        body.find(_q("summary")).text = summary or "出院后继续氨氯地平5mg每日一次，两周后社区复查血压。"
    return doc


def down_referral(document_id: str, *, institution: str = "HOSP01", to: str = "CLINIC01",
                  patient: dict | None = None) -> etree._Element:
    return referral(document_id, direction="down", institution=institution, to=to, patient=patient)
