"""Self-contained signed elements (receipts, replies): an enveloped signature by the hub.

The signature sits as the element's last child, references the element's own ``Id`` and carries
the signer's certificate in ``ds:X509Data``. Verification proves that exactly the element the
caller will read was signed, by a certificate the caller's trust check accepts.
"""
from __future__ import annotations

import base64
import binascii

from cryptography import x509
from lxml import etree

from ..errors import SecurityError
from . import signature
from .credentials import Credentials
from .ns import DS, q
from .policy import DEFAULT_POLICY, Policy


def sign_element(element: etree._Element, *, signer: Credentials) -> etree._Element:
    """Sign ``element`` (which must carry an ``Id``) in place with an enveloped signature."""
    if element.get("Id") is None:
        raise ValueError("element needs an Id attribute")
    sig = signature.sign_enveloped(element, key=signer.signing_key)
    x509_data = etree.SubElement(signature.key_info_of(sig), q(DS, "X509Data"))
    etree.SubElement(x509_data, q(DS, "X509Certificate")).text = base64.b64encode(signer.cert_der).decode("ascii")
    return element


def verify_element(element: etree._Element, *, check_signer, policy: Policy = DEFAULT_POLICY) -> x509.Certificate:
    """Verify an element signed by ``sign_element``; ``check_signer(cert)`` must accept the signer."""
    sigs = element.findall(q(DS, "Signature"))
    if len(sigs) != 1 or element[-1] is not sigs[0]:
        raise SecurityError("security.signature.missing", "element must end with one ds:Signature")
    sig = sigs[0]
    # Resolve ids inside this element only; the reference must be the element itself.
    ids = signature.id_map(element)
    signed = signature.check_signed_info(sig, ids, policy=policy, allow_enveloped=True)
    if len(signed.elements) != 1 or signed.elements[0] is not element:
        raise SecurityError("security.signature.wrapping", "signature must cover the element itself")
    transforms = [t.get("Algorithm") for t in sig.iter(q(DS, "Transform"))]
    if transforms[:1] != [signature.Transform.ENVELOPED.value]:
        raise SecurityError("security.signature.invalid", "enveloped transform required")
    certs = sig.findall(f"{q(DS, 'KeyInfo')}/{q(DS, 'X509Data')}/{q(DS, 'X509Certificate')}")
    if len(certs) != 1:
        raise SecurityError("security.header.invalid", "signer certificate missing")
    try:
        der = base64.b64decode("".join((certs[0].text or "").split()), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise SecurityError("security.certificate.untrusted", "signer certificate unreadable") from None
    signature.verify(sig, signed, cert_der=der)
    check_signer(cert)
    return cert


__all__ = ["sign_element", "verify_element"]
