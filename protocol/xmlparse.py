"""The one hardened parser for untrusted XML (requests, replies, decrypted plaintext).

No DTD at all (internal or external), no entity nodes, no network, no XInclude, no comments or
processing instructions (comments are how signed text is split without breaking a digest),
limits on depth, element count and namespace declarations, UTF-8 only (an XML declaration naming
another encoding is refused, even after a BOM or far into the declaration). libxml2's error text
is never printed or returned: callers get a code. One opt-in, by name, for clinic files that are
never signed (CDA): ``legacy_chinese`` transcodes a declared GBK / GB2312 / GB 18030 document to
UTF-8 first; the signed exchange stays UTF-8 only, since a verifier must read the same characters.
"""
from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

from lxml import etree

from .errors import SecurityError

XINCLUDE_NAMESPACES = frozenset({"http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"})
_UTF8_BOM = b"\xef\xbb\xbf"
_ENCODING_PSEUDO_ATTRIBUTE = re.compile(rb"\sencoding\s*=\s*[\"']([^\"']*)[\"']")
_ENCODING_TEXT = re.compile(r"(\sencoding\s*=\s*[\"'])[^\"']*([\"'])")  # the same, in decoded text


@dataclass(frozen=True)
class ParseLimits:
    """Structural limits of an accepted document."""

    max_depth: int = 48
    max_elements: int = 200_000
    # Every in-scope declaration is searched during c14n: 300,000 of them on the Envelope cost
    # xmlsec seconds per request before the signature can fail. Real messages declare a few dozen.
    max_namespace_declarations: int = 1_000
    # libxml2 refuses text nodes over 10 MB unless huge_tree is on; the size limit of the
    # gate (10 MB by default) keeps us below it, so huge_tree stays off on purpose (a larger
    # configured limit meets libxml2's first: transport.too_large).
    # Bytes of the document, as received and (legacy_chinese) after transcoding. None: the caller
    # limited the size before parsing (the gate's request limit).
    max_bytes: int | None = None


DEFAULT_LIMITS = ParseLimits()
# A SOAP envelope of the profile has a few dozen elements outside its ciphertext (documents travel
# encrypted); generous room for other stacks' headers, and no room for a flood.
ENVELOPE_LIMITS = ParseLimits(max_elements=5_000)
# Files a clinic agent reads (CDA): the hub's message limit, 10 MB, also after transcoding.
FILE_LIMITS = ParseLimits(max_bytes=10 * 1024 * 1024)
# Declared names of GB 18030 and its subsets (GBK, GB2312 / EUC-CN), after lower-casing and "_" → "-".
_LEGACY_CHINESE = frozenset({b"gb18030", b"gb-18030", b"gbk", b"x-gbk", b"cp936", b"gb2312", b"gb-2312",
                             b"euc-cn"})
_GB18030_BOM = "\ufeff".encode("gb18030")
_OTHER_BOMS = (_UTF8_BOM, b"\xff\xfe", b"\xfe\xff")  # UTF-8, UTF-16/32: they contradict a GB declaration
_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
                       remove_blank_text=False, collect_ids=False, encoding="utf-8")
_local = threading.local()


def _parser(drop_comments: bool = False) -> etree.XMLParser:
    # lxml parsers are not thread-safe: one per thread (and per variant).
    name = "lenient_parser" if drop_comments else "parser"
    parser = getattr(_local, name, None)
    if parser is None:
        parser = etree.XMLParser(**_PARSER_OPTIONS, remove_comments=drop_comments, remove_pis=drop_comments)
        setattr(_local, name, parser)
    return parser


def _declared_encoding(data: bytes) -> bytes | None:
    """The encoding named by the XML declaration (after an optional UTF-8 BOM), wherever it sits in it.

    The parser is told UTF-8 whatever the document says, so a declaration naming another
    encoding would make the hub read the bytes differently from any other verifier.
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    if not data.startswith(b"<?xml"):
        return None
    end = data.find(b"?>")
    match = _ENCODING_PSEUDO_ATTRIBUTE.search(data[:end] if end != -1 else data)
    return match.group(1) if match else None


def _too_large(data: bytes, limits: ParseLimits) -> None:
    if limits.max_bytes is not None and len(data) > limits.max_bytes:
        raise SecurityError("transport.too_large", f"more than {limits.max_bytes} bytes")


def _from_legacy_chinese(data: bytes, limits: ParseLimits) -> bytes:
    """UTF-8 bytes of a document declared GBK, GB2312 or GB 18030, its declaration saying UTF-8.

    Other documents are returned as they are (the UTF-8 rules then judge them). GB 18030 decodes
    GBK and GB2312 alike; strictly, so an undecodable byte is malformed, never replaced.
    """
    if limits.max_bytes is None:
        raise ValueError("legacy_chinese needs limits.max_bytes (the bytes grow when transcoded)")
    bom = data.startswith(_GB18030_BOM)
    declared = (_declared_encoding(data[len(_GB18030_BOM):] if bom else data) or b"").lower().replace(b"_", b"-")
    if declared not in _LEGACY_CHINESE:
        return data
    if data.startswith(_OTHER_BOMS) or (bom and declared not in (b"gb18030", b"gb-18030")):
        raise SecurityError("xml.malformed", "byte order mark contradicts the declared encoding")
    try:
        text = data.decode("gb18030").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise SecurityError("xml.malformed", "invalid bytes for the declared encoding") from None
    end = text.find("?>")  # the declaration is ASCII: it ends where the byte search ended it
    if end == -1:
        raise SecurityError("xml.malformed", "unterminated XML declaration")
    declaration = _ENCODING_TEXT.sub(r"\1UTF-8\2", text[:end], count=1)
    utf8 = (declaration + text[end:]).encode("utf-8")
    _too_large(utf8, limits)
    return utf8


def parse_untrusted(data: bytes, *, limits: ParseLimits = DEFAULT_LIMITS, drop_comments: bool = False,
                    legacy_chinese: bool = False) -> etree._Element:
    """Parse bytes from outside the hub; raise ``SecurityError`` with an ``xml.*`` code.

    ``drop_comments`` is for documents that are never signed or verified (a clinic's CDA files
    read by the agent's source adapters, whose templates are full of comments): comments and
    processing instructions are dropped instead of refused. Every other rule still holds.
    ``legacy_chinese`` (unsigned clinic files too, with ``limits.max_bytes`` set) reads a document
    declared GBK, GB2312 or GB 18030 by transcoding it to UTF-8; the result passes every rule below.
    """
    _too_large(data, limits)  # as received
    if legacy_chinese:
        data = _from_legacy_chinese(data, limits)  # and again once transcoded
    declared = _declared_encoding(data)
    if declared is not None and declared.lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise SecurityError("xml.malformed", "declared encoding is not UTF-8")
    try:
        data.decode("utf-8")  # lxml would otherwise replace some invalid sequences silently
    except UnicodeDecodeError:
        raise SecurityError("xml.malformed", "invalid UTF-8") from None
    try:
        if data.count(b"<") > limits.max_elements or data.count(b"xmlns") > limits.max_namespace_declarations:
            root = _parse_counting(data, limits, drop_comments)  # could be over a limit: stop as soon as it is
        else:  # each element needs a "<" and each declaration an "xmlns": no limit can be reached
            root = etree.fromstring(data, _parser(drop_comments))
    except etree.XMLSyntaxError as exc:
        # A DOCTYPE that libxml2 refuses to even read is still a forbidden construct.
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise SecurityError("xml.forbidden", "DTD present") from None
        if exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            # libxml2's own limits (depth 256, 10 MB text node) sit beyond ours: same codes.
            if "depth" in (exc.msg or "").lower():
                raise SecurityError("xml.too_deep", "over libxml2's depth limit") from None
            raise SecurityError("transport.too_large", "over a libxml2 size limit") from None
        raise SecurityError("xml.malformed", f"libxml2 error at line {exc.lineno}") from None
    check_tree(root, limits=limits)
    return root


_FEED_BYTES = 64 * 1024


def _parse_counting(data: bytes, limits: ParseLimits, drop_comments: bool) -> etree._Element:
    """Parse in chunks, counting elements and namespace declarations; refuse the moment one is over.

    A 10 MB body of empty elements (2.6 million of them, 10 KB when gzipped) costs libxml2 seconds
    and hundreds of MB to build in full; this stops it after ``max_elements``.
    """
    parser = etree.XMLPullParser(events=("start", "start-ns"), **_PARSER_OPTIONS,
                                 remove_comments=drop_comments, remove_pis=drop_comments)
    elements = declarations = 0
    for offset in range(0, len(data), _FEED_BYTES):
        parser.feed(data[offset:offset + _FEED_BYTES])
        for event, _ in parser.read_events():
            if event == "start":
                elements += 1
                if elements > limits.max_elements:
                    raise SecurityError("xml.too_complex", f"more than {limits.max_elements} elements")
            else:
                declarations += 1
                if declarations > limits.max_namespace_declarations:
                    raise SecurityError("xml.too_complex", "too many namespace declarations")
    return parser.close()


def parse_admitted(data: bytes) -> etree._Element:
    """Parse a document the gate already admitted (its stored canonical bytes).

    The same hardened parser; the tree limits were enforced on the decrypted plaintext this
    document was part of, so they are not walked again on every processing pass.
    """
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError:
        raise SecurityError("xml.malformed", "stored document is not well-formed") from None


_XINCLUDE_TAGS = tuple(f"{{{ns}}}*" for ns in sorted(XINCLUDE_NAMESPACES))


@functools.lru_cache(maxsize=8)
def _too_deep(max_depth: int) -> etree.XPath:
    # True when some element sits deeper than max_depth (the root is depth 1).
    return etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")


def check_tree(root: etree._Element, *, limits: ParseLimits = DEFAULT_LIMITS) -> None:
    """Reject DTDs, entities, XInclude, comments, PIs and over-deep trees in a tree from ``parse_untrusted``."""
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise SecurityError("xml.forbidden", "DTD present")
    # Siblings of the root (comments / PIs before or after it) are not reached by iterwalk.
    if root.getprevious() is not None or root.getnext() is not None:
        raise SecurityError("xml.forbidden", "node outside the root element")
    # Everything below walks the tree in libxml2/Cython and surfaces only offending nodes.
    for _ in root.iter(etree.Comment, etree.ProcessingInstruction):
        raise SecurityError("xml.forbidden", "comment or processing instruction")
    for _ in root.iter(*_XINCLUDE_TAGS):
        raise SecurityError("xml.forbidden", "XInclude element")
    if _too_deep(limits.max_depth)(root):
        raise SecurityError("xml.too_deep", f"depth over {limits.max_depth}")
    # The element and namespace-declaration limits are not walked here: parse_untrusted enforced
    # them on the bytes (a count that bounds them) or while parsing (_parse_counting).
    # Entity reference nodes survive with resolve_entities=False: refuse them.
    for _ in root.iter(etree.Entity):
        raise SecurityError("xml.forbidden", "entity reference")


__all__ = ["parse_admitted", "ParseLimits", "DEFAULT_LIMITS", "ENVELOPE_LIMITS", "FILE_LIMITS", "parse_untrusted",
           "check_tree", "XINCLUDE_NAMESPACES"]
