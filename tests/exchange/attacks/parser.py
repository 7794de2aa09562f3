"""Parser attacks: bytes that must not get past the hardened parser or the transport reader.

Entities and DOCTYPEs, nesting depth, element and namespace floods, size limits and content
encodings (gzip and deflate bombs), character encodings, comments and processing instructions.
"""
from __future__ import annotations

import gzip
import struct
import zlib

from lxml import etree

from protocol.ns import XENC, q

from .. import builders
from .kit import MAX_BYTES, PARSER, Attack, Kit, Msg, case, header_block, replace_text, with_doctype

_LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))


@case(PARSER, "xml.forbidden")
def billion_laughs(kit: Kit) -> Attack:
    """Nine nested entities of ten references each (10^9 'lol's) referenced from the MessageID."""
    msg = kit.seal()
    doctype = f'<!DOCTYPE soap:Envelope [<!ENTITY lol0 "lol">{_LAUGHS}]>'
    return msg.attack(with_doctype(msg, doctype, in_message_id="&lol9;"))


@case(PARSER, "xml.forbidden")
def quadratic_blowup(kit: Kit) -> Attack:
    """One 64 KB entity referenced 4,000 times (256 MB once expanded), no nesting at all."""
    msg = kit.seal()
    doctype = f'<!DOCTYPE soap:Envelope [<!ENTITY a "{"A" * 65536}">]>'
    return msg.attack(with_doctype(msg, doctype, in_message_id="&a;" * 4000))


@case(PARSER, "xml.forbidden")
def doctype_internal_subset(kit: Kit) -> Attack:
    """An internal subset that declares an ID attribute and a defaulted attribute on the Body."""
    msg = kit.seal()
    doctype = ('<!DOCTYPE soap:Envelope [<!ATTLIST soap:Body evil CDATA "injected-default">'
               '<!ATTLIST wsa:MessageID xml:id ID #IMPLIED>]>')
    return msg.attack(with_doctype(msg, doctype))


@case(PARSER, "xml.forbidden")
def xxe_file(kit: Kit) -> Attack:
    """External entity SYSTEM file:///etc/passwd referenced from the MessageID."""
    msg = kit.seal()
    doctype = '<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return msg.attack(with_doctype(msg, doctype, in_message_id="&xxe;"), "root:")


@case(PARSER, "xml.forbidden")
def external_dtd(kit: Kit) -> Attack:
    """DOCTYPE with an external DTD on the network (a closed loopback port)."""
    msg = kit.seal()
    return msg.attack(with_doctype(msg, '<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'))


@case(PARSER, "xml.forbidden")
def parameter_entities(kit: Kit) -> Attack:
    """Parameter entities: a remote %dtd; that would define an exfiltrating entity."""
    msg = kit.seal()
    doctype = ('<!DOCTYPE soap:Envelope [<!ENTITY % file SYSTEM "file:///etc/hostname">'
               '<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/exfil.dtd"> %dtd; %file;]>')
    return msg.attack(with_doctype(msg, doctype))


@case(PARSER, "xml.forbidden", valid_signature=True)
def xinclude(kit: Kit) -> Attack:
    """An xi:include of /etc/passwd in an (unsigned) header block of a validly signed message."""
    msg = kit.seal()
    block = header_block(msg)
    etree.SubElement(block, "{http://www.w3.org/2001/XInclude}include", href="file:///etc/passwd", parse="text",
                     nsmap={"xi": "http://www.w3.org/2001/XInclude"})
    return msg.attack()


def _nested(msg: Msg, depth: int) -> bytes:
    data = msg.bytes()
    nest = b"<evil:n xmlns:evil='urn:evil'>" + b"<evil:n>" * (depth - 1) + b"</evil:n>" * depth
    return replace_text(data, b"<soap:Header>", b"<soap:Header>" + nest)


@case(PARSER, "xml.too_deep")
def deep_nesting(kit: Kit) -> Attack:
    """A header block nested 60 levels deep (the limit is 48)."""
    msg = kit.seal()
    return msg.attack(_nested(msg, 60))


@case(PARSER, "xml.too_deep")
def deep_nesting_beyond_libxml2(kit: Kit) -> Attack:
    """Nested 5,000 levels deep: past libxml2's own limit of 256, still the depth code."""
    msg = kit.seal()
    return msg.attack(_nested(msg, 5000))


@case(PARSER, "xml.too_complex")
def element_flood(kit: Kit) -> Attack:
    """250,000 empty elements in one header block (the limit is 200,000 elements)."""
    msg = kit.seal()
    return msg.attack(replace_text(msg.bytes(), b"<soap:Header>",
                                    b"<soap:Header><e:f xmlns:e='urn:evil'>" + b"<e:g/>" * 250_000 + b"</e:f>"))


@case(PARSER, "xml.too_complex", valid_signature=True)
def namespace_flood(kit: Kit) -> Attack:
    """300,000 namespace declarations on the Envelope of a validly signed message (8 MB).

    Exclusive c14n ignores them, so the signature stays valid, but every in-scope declaration is
    searched while canonicalizing: xmlsec spent over 3 s per request on this before the signature
    check could fail (a normal message of that size costs a few tens of milliseconds).
    """
    msg = kit.seal()
    declarations = b" ".join(b"xmlns:p%d='urn:p%d'" % (i, i) for i in range(300_000))
    return msg.attack(replace_text(msg.bytes(), b"<soap:Envelope ", b"<soap:Envelope " + declarations + b" "))


@case(PARSER, "xml.too_complex")
def gzip_element_flood(kit: Kit) -> Attack:
    """10 KB of gzip inflating to just under the 10 MB limit: 2.6 million empty elements in a header.

    Built in full, such a tree cost 2.2 s and 350 MB per request (on the ASGI front, on its event
    loop: every submission stalled). An envelope may hold 5,000 elements and the parser stops at
    the 5,001st; ``test_element_flood_stops_early`` checks the early stop.
    """
    msg = kit.seal()
    data = msg.bytes()
    head, tail = b"<soap:Header><e:f xmlns:e='urn:evil'>", b"</e:f>"
    flood = b"<a/>" * ((MAX_BYTES - len(data) - len(head) - len(tail)) // 4)
    return msg.attack(gzip.compress(replace_text(data, b"<soap:Header>", head + flood + tail), 9),
                      headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.too_large")
def oversize(kit: Kit) -> Attack:
    """A valid message followed by whitespace up to one byte over the 10 MB limit."""
    msg = kit.seal()
    data = msg.bytes()
    return msg.attack(data + b" " * (MAX_BYTES + 1 - len(data)))


@case(PARSER, "transport.too_large")
def oversize_without_content_length(kit: Kit) -> Attack:
    """Over the limit with no Content-Length (chunked upload): the reader stops at limit + 1."""
    attack = kit.attack("oversize")
    return Attack(data=attack.data, message_id=attack.message_id, secrets=attack.secrets,
                  headers={"CONTENT_LENGTH": ""})


def _gzip_bomb(prefix: bytes, total: int) -> bytes:
    """A valid gzip member inflating to ``total`` bytes (prefix + spaces), built without inflating it.

    After Z_FULL_FLUSH the compressor keeps no history, so every 1 MiB block of spaces compresses
    to the same bytes: the stream is the prefix block, that block repeated, the final block and a
    correct trailer (CRC-32 and size of everything).
    """
    chunk = b" " * (1 << 20)
    count = (total - len(prefix)) // len(chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH) == block
    final = comp.flush()[:-8]  # the last (empty) deflate block, without the trailer of the short stream
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    size = len(prefix) + count * len(chunk)
    return head + block * count + final + struct.pack("<II", crc, size & 0xFFFFFFFF)


@case(PARSER, "transport.too_large")
def gzip_bomb(kit: Kit) -> Attack:
    """1 MB of gzip (Content-Encoding: gzip) that inflates to 1 GiB: refused after limit + 1 bytes."""
    msg = kit.seal()
    return msg.attack(_gzip_bomb(msg.bytes(), 1 << 30), headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.too_large")
def deflate_over_limit(kit: Kit) -> Attack:
    """Content-Encoding: deflate of a message padded to 12 MB."""
    msg = kit.seal()
    return msg.attack(zlib.compress(msg.bytes() + b" " * (12 * 1024 * 1024)),
                      headers={"HTTP_CONTENT_ENCODING": "deflate"})


@case(PARSER, "transport.encoding")
def gzip_corrupt(kit: Kit) -> Attack:
    """Content-Encoding: gzip over bytes that are not a gzip stream."""
    msg = kit.seal()
    data = gzip.compress(msg.bytes())
    return msg.attack(data[:10] + bytes(b ^ 0x5A for b in data[10:40]) + data[40:],
                      headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.encoding")
def gzip_trailing_data(kit: Kit) -> Attack:
    """A valid gzip member followed by bytes that belong to no member (smuggled, never checked)."""
    msg = kit.seal()
    return msg.attack(gzip.compress(msg.bytes()) + b"EVIL-TRAILER" * 64, "EVIL-TRAILER",
                      headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.encoding")
def unsupported_content_encoding(kit: Kit) -> Attack:
    """Content-Encoding: br (not offered by the hub)."""
    msg = kit.seal()
    return msg.attack(headers={"HTTP_CONTENT_ENCODING": "br"})


@case(PARSER, "transport.encoding")
def http_charset_not_utf8(kit: Kit) -> Attack:
    """Content-Type text/xml; charset=ISO-8859-1 on UTF-8 bytes: the two readings would differ."""
    msg = kit.seal()
    return msg.attack(headers={"CONTENT_TYPE": "text/xml; charset=ISO-8859-1"})


@case(PARSER, "xml.malformed")
def invalid_utf8(kit: Kit) -> Attack:
    """A 0xFF byte inside the MessageID text."""
    msg = kit.seal()
    return msg.attack(replace_text(msg.bytes(), msg.message_id, msg.message_id[:-4].encode() + b"\xff\xfe"))


@case(PARSER, "xml.malformed")
def overlong_utf8(kit: Kit) -> Attack:
    """An overlong UTF-8 encoding of '<' (0xC0 0xBC) in the To address."""
    msg = kit.seal()
    return msg.attack(replace_text(msg.bytes(), builders.TO, builders.TO.encode() + b"\xc0\xbc"))


@case(PARSER, "xml.malformed")
def declared_latin1(kit: Kit) -> Attack:
    """XML declaration encoding="ISO-8859-1" over the same bytes."""
    msg = kit.seal()
    return msg.attack(replace_text(msg.bytes(), b"encoding='utf-8'", b"encoding='ISO-8859-1'"))


@case(PARSER, "xml.malformed")
def declared_latin1_after_bom(kit: Kit) -> Attack:
    """A UTF-8 byte order mark, then an XML declaration that says ISO-8859-1."""
    msg = kit.seal()
    return msg.attack(b"\xef\xbb\xbf" + replace_text(msg.bytes(), b"encoding='utf-8'", b"encoding='ISO-8859-1'"))


@case(PARSER, "xml.malformed")
def declared_latin1_far_away(kit: Kit) -> Attack:
    """encoding="ISO-8859-1" placed 400 spaces into the XML declaration (legal whitespace)."""
    msg = kit.seal()
    return msg.attack(replace_text(msg.bytes(), b" encoding='utf-8'", b" " * 400 + b"encoding='ISO-8859-1'"))


@case(PARSER, "xml.malformed")
def utf16(kit: Kit) -> Attack:
    """The whole message in UTF-16 with a BOM and a matching declaration."""
    msg = kit.seal()
    text = replace_text(msg.bytes(), b"encoding='utf-8'", b"encoding='UTF-16'").decode("utf-8")
    return msg.attack(text.encode("utf-16"))


@case(PARSER, "xml.forbidden")
def comment_before_root(kit: Kit) -> Attack:
    """A comment between the XML declaration and the Envelope."""
    msg = kit.seal()
    data = msg.bytes()
    end = data.index(b"?>") + 2
    return msg.attack(data[:end] + b"<!--EVIL-COMMENT-->" + data[end:], "EVIL-COMMENT")


@case(PARSER, "xml.forbidden", valid_signature=True)
def processing_instruction(kit: Kit) -> Attack:
    """A processing instruction in an unsigned header block of a validly signed message."""
    msg = kit.seal()
    header_block(msg).append(etree.ProcessingInstruction("evil", "EVIL-PI"))
    return msg.attack(None, "EVIL-PI")


@case(PARSER, "xml.forbidden", valid_signature=True)
def comment_in_cipher_value(kit: Kit) -> Attack:
    """'abc<!--x-->def' inside the signed CipherValue: comment-free c14n keeps the digest valid."""
    msg = kit.seal()
    value = msg.ed.find(f"{q(XENC, 'CipherData')}/{q(XENC, 'CipherValue')}")
    text = value.text
    value.text = text[:40]
    value.append(etree.Comment("x"))
    value[-1].tail = text[40:]
    return msg.attack()
