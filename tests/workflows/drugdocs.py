"""DrugMovement and Dispense documents for the drug workflow's tests, made from the integrator examples
(schemas/examples/DrugMovement.xml, Dispense.xml) with synthetic parties, batches and patients."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from lxml import etree

from hub.mpi.resident_id import make_resident_id
from tests.support.documents import DOC_NS, document

CHINA = timezone(timedelta(hours=8))
AMOXICILLIN, AMLODIPINE = "YP0001", "YP0012"


def _q(path: str) -> str:
    return "/".join(f"{{{DOC_NS}}}{part}" for part in path.split("/"))


def patient(number: int, *, name: str = "合成患者") -> dict:
    """A synthetic patient: a valid resident ID of 330102 born 1970-01-01 + ``number`` days."""
    born = date(1970, 1, 1) + timedelta(days=number)
    return {"resident_id": make_resident_id(f"330102{born:%Y%m%d}{(number % 499) * 2 + 1:03d}"),
            "name": f"{name}{number}", "sex": "1", "birth_date": born.isoformat()}


def movement(document_id: str, *, institution: str, movement_type: str, source: tuple[str, str],
             target: tuple[str, str], items: list[tuple[str, str, int, str | None]], at: datetime) -> etree._Element:
    """A movement of ``items`` (drug, batch, quantity, expiry date) from ``source`` to ``target`` (code, kind)."""
    doc = document("DrugMovement", institution=institution, document_id=document_id)
    body = doc.find(_q("body"))
    body.find(_q("movementType")).set("code", movement_type)
    body.find(_q("movementTime")).set("value", at.isoformat())
    doc.find(_q("header/effectiveTime")).set("value", at.isoformat())
    for tag, (code, kind) in (("from", source), ("to", target)):
        body.find(_q(tag)).attrib.update({"code": code, "name": f"合成{code}", "kind": kind})
    for item in body.findall(_q("item")):
        body.remove(item)
    for drug, batch, quantity, expiry in items:
        item = etree.SubElement(body, _q("item"))
        etree.SubElement(item, _q("drug"), code=drug, displayName="合成药品")
        etree.SubElement(item, _q("batchNumber")).text = batch
        if expiry:
            etree.SubElement(item, _q("expiryDate"), value=expiry)
        etree.SubElement(item, _q("quantity")).text = str(quantity)
    return doc


def dispense(document_id: str, *, institution: str, who: dict, items: list[tuple[str, str, int]],
             at: datetime) -> etree._Element:
    """A dispense of ``items`` (drug, batch, quantity) to the patient ``who``."""
    doc = document("Dispense", institution=institution, document_id=document_id, patient=who)
    doc.find(_q("header/effectiveTime")).set("value", at.isoformat())
    body = doc.find(_q("body"))
    body.find(_q("dispenseTime")).set("value", at.isoformat())
    body.remove(body.find(_q("prescriptionRef")))
    for item in body.findall(_q("item")):
        body.remove(item)
    for drug, batch, quantity in items:
        item = etree.SubElement(body, _q("item"))
        etree.SubElement(item, _q("drug"), code=drug, displayName="合成药品")
        etree.SubElement(item, _q("quantity")).text = str(quantity)
        etree.SubElement(item, _q("batchNumber")).text = batch
    return doc
