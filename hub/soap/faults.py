"""SOAP 1.1 Faults rendered from a machine code alone — never from input or exception text.

``fault_envelope`` writes the same bytes spyne writes for the exchange's Faults (a test compares
them), so a client sees one Fault shape whether the gate, the submit path or spyne refused.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from lxml import etree

from protocol.errors import FAULTS
from protocol.ns import HIE, SOAP11, q

ENVELOPE_HEAD = (f"<?xml version='1.0' encoding='UTF-8'?>\n<soap11env:Envelope xmlns:soap11env=\"{SOAP11}\" "
                 f"xmlns:tns=\"{HIE}\"><soap11env:Body>").encode()
ENVELOPE_TAIL = b"</soap11env:Body></soap11env:Envelope>"


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
    """A complete SOAP 1.1 Fault envelope for ``code``; ``receipt`` is a serialized signed receipt."""
    spec = FAULTS[code]
    fault = (f"<soap11env:Fault><faultcode>soap11env:{spec.party}</faultcode>"
             f"<faultstring>{escape(spec.message)}</faultstring><faultactor></faultactor><detail><tns:Fault>"
             f"<tns:Code>{escape(code)}</tns:Code><tns:Retryable>{'true' if spec.retryable else 'false'}"
             "</tns:Retryable>").encode()
    return b"".join((ENVELOPE_HEAD, fault, receipt or b"", b"</tns:Fault></detail></soap11env:Fault>", ENVELOPE_TAIL))


__all__ = ["fault_detail", "fault_envelope", "ENVELOPE_HEAD", "ENVELOPE_TAIL"]
