"""SOAP 1.1 Faults rendered from a machine code alone — never from input or exception text."""
from __future__ import annotations

from lxml import etree

from ..errors import FAULTS
from ..wssec.ns import HIE, SOAP11, q


def fault_detail(code: str, receipt: bytes | None = None) -> etree._Element:
    """``<hie:Fault>`` with the machine code, retry hint and (when there is one) a signed receipt."""
    spec = FAULTS[code]
    detail = etree.Element(q(HIE, "Fault"), nsmap={"hie": HIE})
    etree.SubElement(detail, q(HIE, "Code")).text = code
    etree.SubElement(detail, q(HIE, "Retryable")).text = "true" if spec.retryable else "false"
    if receipt is not None:
        detail.append(etree.fromstring(receipt))
    return detail


def fault_envelope(code: str, receipt: bytes | None = None) -> bytes:
    """A complete SOAP 1.1 Fault envelope for ``code``."""
    spec = FAULTS[code]
    env = etree.Element(q(SOAP11, "Envelope"), nsmap={"soap11env": SOAP11})
    fault = etree.SubElement(etree.SubElement(env, q(SOAP11, "Body")), q(SOAP11, "Fault"))
    etree.SubElement(fault, "faultcode").text = f"soap11env:{spec.party}"
    etree.SubElement(fault, "faultstring").text = spec.message
    etree.SubElement(fault, "detail").append(fault_detail(code, receipt))
    return etree.tostring(env, encoding="utf-8", xml_declaration=True)


__all__ = ["fault_detail", "fault_envelope"]
