"""Distinguished names as XML-DSig writes them in ``ds:X509IssuerName`` (RFC 4514 strings), compared.

Stacks spell the same issuer differently: libxmlsec writes non-ASCII bytes as ``\\E6\\B5``
escapes, .NET puts a space after each comma, Java writes unknown attribute types as
``2.5.4.97=#0c03...`` (the value's BER encoding), RFC 1779 allows quoted values and ``;``.
``parse`` reads all of these into one form; ``of_name`` gives the same form for a certificate's
``x509.Name``. Both list RDNs in RFC 4514 order (most specific first, the reverse of the
certificate's encoding), each RDN a set of (OID, value), and values are compared as RFC 5280
§7.1 asks: case-insensitively, with runs of whitespace collapsed.
"""
from __future__ import annotations

import re

from cryptography import x509

NameKey = tuple[frozenset[tuple[str, str]], ...]

KEYWORDS = {
    "CN": "2.5.4.3", "SN": "2.5.4.4", "SURNAME": "2.5.4.4", "SERIALNUMBER": "2.5.4.5", "C": "2.5.4.6",
    "L": "2.5.4.7", "ST": "2.5.4.8", "S": "2.5.4.8", "STREET": "2.5.4.9", "O": "2.5.4.10", "OU": "2.5.4.11",
    "T": "2.5.4.12", "TITLE": "2.5.4.12", "GIVENNAME": "2.5.4.42", "G": "2.5.4.42",
    "ORGANIZATIONIDENTIFIER": "2.5.4.97", "DC": "0.9.2342.19200300.100.1.25",
    "UID": "0.9.2342.19200300.100.1.1", "E": "1.2.840.113549.1.9.1", "EMAIL": "1.2.840.113549.1.9.1",
    "EMAILADDRESS": "1.2.840.113549.1.9.1",
}
_OID = re.compile(r"^(?:OID\.)?([0-2](?:\.\d+)+)$", re.IGNORECASE)
_HEX = re.compile(r"[0-9A-Fa-f]{2}")
_BER_HEX = re.compile(r"#((?:[0-9A-Fa-f]{2})+)")
# BER string types an attribute value may use, and how their bytes decode.
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be",
                0x1C: "utf-32-be"}


def normalize(value: str) -> str:
    """The comparable form of an attribute value: case folded, whitespace runs collapsed, trimmed."""
    return " ".join(value.casefold().split())


def of_name(name: x509.Name) -> NameKey:
    """The comparable form of a certificate's name, in RFC 4514 order."""
    return tuple(frozenset((attr.oid.dotted_string, normalize(str(attr.value))) for attr in rdn)
                 for rdn in reversed(name.rdns))


def parse(text: str) -> NameKey | None:
    """The comparable form of an RFC 4514 (or RFC 1779) string; None when it cannot be read."""
    rdns: list[frozenset] = []
    current: set = set()
    pos, end = 0, len(text)
    while True:
        pos = _skip_spaces(text, pos)
        equals = text.find("=", pos)
        if equals < 0:
            return None
        oid = _oid(text[pos:equals].strip())
        if oid is None:
            return None
        value, pos = _value(text, _skip_spaces(text, equals + 1))
        if value is None:
            return None
        current.add((oid, normalize(value)))
        pos = _skip_spaces(text, pos)
        if pos >= end:
            rdns.append(frozenset(current))
            return tuple(rdns) if rdns else None
        if text[pos] == "+":
            pos += 1
        elif text[pos] in ",;":
            rdns.append(frozenset(current))
            current = set()
            pos += 1
        else:
            return None


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _oid(keyword: str) -> str | None:
    if keyword.upper() in KEYWORDS:
        return KEYWORDS[keyword.upper()]
    match = _OID.match(keyword)
    return match.group(1) if match else None


def _value(text: str, pos: int) -> tuple[str | None, int]:
    """One attribute value starting at ``pos``; returns it and the position after it."""
    if pos < len(text) and text[pos] == "#":
        match = _BER_HEX.match(text, pos)
        return (_ber_string(bytes.fromhex(match.group(1))), match.end()) if match else (None, pos)
    quoted = pos < len(text) and text[pos] == '"'
    if quoted:
        pos += 1
    raw = bytearray()
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            if _HEX.fullmatch(text[pos + 1:pos + 3]):
                raw.append(int(text[pos + 1:pos + 3], 16))
                pos += 3
                continue
            if pos + 1 >= len(text):
                return None, pos
            raw += text[pos + 1].encode("utf-8")
            pos += 2
            continue
        if quoted and char == '"':
            pos += 1
            break
        if not quoted and char in ",;+":
            break
        raw += char.encode("utf-8")
        pos += 1
    else:
        if quoted:
            return None, pos  # no closing quote
    try:
        return raw.decode("utf-8"), pos
    except UnicodeDecodeError:
        return None, pos


def _ber_string(der: bytes) -> str | None:
    """The text of a BER-encoded string value (``#`` form); None for other types or bad lengths."""
    if len(der) < 2 or der[0] not in _STRING_TAGS:
        return None
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 3 or len(der) < 2 + count:
            return None
        length, offset = int.from_bytes(der[2:2 + count], "big"), 2 + count
    if len(der) != offset + length:
        return None
    try:
        return der[offset:].decode(_STRING_TAGS[der[0]])
    except UnicodeDecodeError:
        return None


__all__ = ["NameKey", "normalize", "of_name", "parse"]
