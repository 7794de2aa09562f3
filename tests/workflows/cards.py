"""Report cards for the surveillance tests: any disease, dates, district and (synthetic) patient, made
from the integrator example (schemas/examples/InfectiousDiseaseReport.xml). Every person is synthetic:
resident IDs are made from a serial number with a valid check character."""
from __future__ import annotations

from datetime import date, timedelta

from lxml import etree

from hub.mpi.resident_id import make_resident_id
from tests.support.documents import DOC_NS, document

NOROVIRUS, HFMD, HIV, MEASLES = ("310", "C"), ("311", "C"), ("202", "B"), ("206", "B")


def _q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


def resident(serial: int, born: date = date(1990, 1, 1), sex: str = "1") -> dict:
    """A synthetic patient (resident ID, name, sex, birth date) numbered ``serial``."""
    first17 = f"330102{born:%Y%m%d}{serial % 1000:03d}"
    return {"resident_id": make_resident_id(first17), "name": f"测试{serial}", "sex": sex,
            "birth_date": born.isoformat(), "division": "330102"}


def card(document_id: str, *, patient: dict, disease: tuple[str, str] = NOROVIRUS, division: str = "330102",
         onset: date = date(2026, 11, 1), diagnosis: date | None = None, reported: date | None = None,
         institution: str = "CLINIC01", classification: str = "3", version: int | None = None,
         drop: tuple[str, ...] = ()) -> etree._Element:
    """A report card; ``drop``: body elements left out (occupation, reportingDoctor)."""
    diagnosis = diagnosis or onset
    reported = reported or diagnosis
    doc = document("InfectiousDiseaseReport", institution=institution, document_id=document_id, version=version,
                   patient=patient)
    doc.find(_q("header/effectiveTime")).set("value", f"{reported.isoformat()}T16:00:00+08:00")
    body = doc.find(_q("body"))
    body.find(_q("disease")).attrib.update({"code": disease[0], "displayName": "合成病名"})
    body.find(_q("diseaseClass")).set("code", disease[1])
    body.find(_q("caseClassification")).set("code", classification)
    body.find(_q("onsetDate")).set("value", onset.isoformat())
    body.find(_q("diagnosisDate")).set("value", diagnosis.isoformat())
    body.find(_q("currentAddress")).set("division", division)
    if "occupation" not in drop and body.find(_q("occupation")) is None:
        occupation = etree.Element(_q("occupation"), code="4", displayName="社会生产服务和生活服务人员")
        body.find(_q("diagnosisDate")).addnext(occupation)
    for name in drop:
        element = body.find(_q(name))
        if element is not None:
            body.remove(element)
    return doc


def days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]
