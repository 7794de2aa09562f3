"""Whom an EncryptedKey is for: its ``ds:KeyInfo`` must name the recipient's certificate.

Accepted, exactly one of (a single child at each level, nothing beside it):

- ``ds:X509Data/ds:X509IssuerSerial`` — issuer name and serial number both match (the
  profile's form; what libxmlsec, Santuario and .NET write);
- ``wsse:SecurityTokenReference/ds:X509Data/ds:X509IssuerSerial`` — the same, in the WSS X.509
  Token Profile's wrapper (what WSS4J / CXF and WCF write);
- ``ds:X509Data/ds:X509Certificate`` — the recipient's certificate itself, byte for byte.

Anything else — no KeyInfo, an empty one, a KeyName, a thumbprint or subject key identifier,
the right serial under another issuer, two identifications — is ``security.recipient.unknown``.
The KeyInfo is public and signed, so naming the refusal tells the sender nothing about keys.
"""
from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from . import distinguished_name
from .errors import SecurityError
from .ns import DS, WSSE, q

_SERIAL = re.compile(r"^\s*\+?([0-9]{1,80})\s*$")
_ISSUER_SERIAL_CHILDREN = [q(DS, "X509IssuerName"), q(DS, "X509SerialNumber")]


def _only_child(parent: etree._Element, tag: str) -> etree._Element | None:
    children = [child for child in parent if isinstance(child.tag, str)]
    return children[0] if len(children) == 1 and children[0].tag == tag else None


def _refuse(detail: str):
    raise SecurityError("security.recipient.unknown", detail)


def check_recipient(ek: etree._Element, recipient: x509.Certificate) -> None:
    """Raise ``security.recipient.unknown`` unless ``ek``'s KeyInfo names ``recipient`` (see module doc)."""
    key_infos = ek.findall(q(DS, "KeyInfo"))
    if len(key_infos) != 1:
        _refuse("EncryptedKey needs exactly one KeyInfo")
    x509_data = _only_child(key_infos[0], q(DS, "X509Data"))
    if x509_data is None:
        reference = _only_child(key_infos[0], q(WSSE, "SecurityTokenReference"))
        x509_data = _only_child(reference, q(DS, "X509Data")) if reference is not None else None
        if x509_data is None or _only_child(x509_data, q(DS, "X509IssuerSerial")) is None:
            _refuse("KeyInfo must hold X509Data (or a SecurityTokenReference to X509IssuerSerial)")
    serial = _only_child(x509_data, q(DS, "X509IssuerSerial"))
    if serial is not None:
        if not _names(serial, recipient):
            _refuse("X509IssuerSerial names another certificate")
        return
    certificate = _only_child(x509_data, q(DS, "X509Certificate"))
    if certificate is None or _der(certificate.text) != recipient.public_bytes(Encoding.DER):
        _refuse("X509Data must hold the recipient's X509IssuerSerial or X509Certificate")


def _names(serial: etree._Element, recipient: x509.Certificate) -> bool:
    """True when an X509IssuerSerial holds the recipient's issuer and serial number."""
    if [child.tag for child in serial if isinstance(child.tag, str)] != _ISSUER_SERIAL_CHILDREN:
        return False
    issuer, number = (child.text or "" for child in serial if isinstance(child.tag, str))
    match = _SERIAL.match(number)
    if match is None or int(match.group(1)) != recipient.serial_number:
        return False
    parsed = distinguished_name.parse(issuer)
    return parsed is not None and parsed == distinguished_name.of_name(recipient.issuer)


def _der(text: str | None) -> bytes | None:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None


__all__ = ["check_recipient"]
