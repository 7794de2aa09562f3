"""``parse_untrusted(legacy_chinese=True)``: clinic files declared GBK / GB2312 / GB 18030 are read
by transcoding, under the same limits and refusals; without the opt-in the parser stays UTF-8 only."""
from __future__ import annotations

from pathlib import Path

import pytest

from protocol.errors import SecurityError
from protocol.xmlparse import FILE_LIMITS, ParseLimits, parse_untrusted

NAME = "诸葛明远"


def declared(encoding: str, body: str = f"<a><n>{NAME}</n></a>", *, text_encoding: str | None = None) -> bytes:
    return f'<?xml version="1.0" encoding="{encoding}"?>{body}'.encode(text_encoding or "gb18030")


def legacy(data: bytes, limits: ParseLimits = FILE_LIMITS, **options):
    return parse_untrusted(data, limits=limits, legacy_chinese=True, **options)


def refused(data: bytes, **options) -> str:
    with pytest.raises(SecurityError) as raised:
        parse_untrusted(data, **options)
    return raised.value.code


@pytest.mark.parametrize("encoding", ["GBK", "gbk", "GB2312", "GB18030", "gb_2312", "CP936"])
def test_declared_legacy_encodings_are_read(encoding):
    assert legacy(declared(encoding)).findtext("n") == NAME


def test_gb18030_beyond_gbk_and_a_trail_byte_that_looks_like_ascii():
    # 𠀀 is a four-byte GB 18030 sequence; 癨 is b"\xb0\\" (its trail byte is a backslash).
    root = legacy(declared("GB18030", "<a k='癨'><n>𠀀 癨</n></a>"))
    assert (root.get("k"), root.findtext("n")) == ("癨", "𠀀 癨")


@pytest.mark.parametrize("options", [{}, {"drop_comments": True}, {"limits": FILE_LIMITS}])
def test_without_the_opt_in_gbk_is_refused_as_before(options):
    """The SOAP gate and every other caller: a non-UTF-8 declaration is malformed, as it always was."""
    assert refused(declared("GBK"), **options) == "xml.malformed"
    assert refused(declared("GB18030"), **options) == "xml.malformed"


def test_only_the_cda_adapter_opts_in():
    root = Path(__file__).resolve().parents[2]
    callers = {path.relative_to(root).as_posix() for folder in ("adapters", "hub", "protocol", "region", "olap", "etl")
               if (root / folder).is_dir() for path in (root / folder).rglob("*.py")
               if "legacy_chinese=True" in path.read_text(encoding="utf-8")}
    assert callers == {"adapters/sources/cda.py"}


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0" encoding="GBK"?><a>\x81\x20</a>',  # lead byte without a trail byte
    b'<?xml version="1.0" encoding="GB2312"?><a>\xff\xff</a>',
    b'<?xml version="1.0" encoding="GBK"><a/>',  # the declaration never ends
])
def test_undecodable_bytes_are_malformed(data):
    assert refused(data, limits=FILE_LIMITS, legacy_chinese=True) == "xml.malformed"


@pytest.mark.parametrize("encoding", ["Big5", "ISO-8859-1", "UTF-16", "Shift_JIS"])
def test_other_encodings_stay_refused(encoding):
    assert refused(declared(encoding, "<a/>", text_encoding="ascii"), limits=FILE_LIMITS,
                   legacy_chinese=True) == "xml.malformed"


def test_utf8_documents_are_unchanged():
    utf8 = declared("UTF-8", text_encoding="utf-8")
    for data in (utf8, f"<a><n>{NAME}</n></a>".encode(), b"\xef\xbb\xbf" + utf8.replace(b"UTF-8", b"utf-8")):
        assert legacy(data).findtext("n") == NAME


def test_a_bom_contradicting_the_declaration_is_refused():
    gb18030_bom = "\ufeff".encode("gb18030")
    assert legacy(gb18030_bom + declared("GB18030")).findtext("n") == NAME
    for data in (b"\xef\xbb\xbf" + declared("GBK"), gb18030_bom + declared("GBK"), b"\xff\xfe" + declared("GB18030")):
        assert refused(data, limits=FILE_LIMITS, legacy_chinese=True) == "xml.malformed"


def test_size_limit_as_received_and_after_transcoding():
    data = declared("GBK", "<a>" + "诸" * 1000 + "</a>")  # 2 bytes each in GBK, 3 in UTF-8
    assert len(legacy(data, ParseLimits(max_bytes=len(data) + 1002)).text) == 1000
    assert refused(data, limits=ParseLimits(max_bytes=len(data) - 1), legacy_chinese=True) == "transport.too_large"
    # Small enough as received, one byte too large once transcoded ("UTF-8" is two letters longer than "GBK").
    assert refused(data, limits=ParseLimits(max_bytes=len(data) + 1001), legacy_chinese=True) == "transport.too_large"


def test_the_opt_in_needs_a_size_limit():
    with pytest.raises(ValueError):
        parse_untrusted(declared("GBK"), legacy_chinese=True)


@pytest.mark.parametrize("body, code, options", [
    ('<!DOCTYPE a [<!ENTITY e "诸葛">]><a>&e;</a>', "xml.forbidden", {}),
    ('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', "xml.forbidden", {}),
    ("<a>" * 60 + "</a>" * 60, "xml.too_deep", {}),
    ('<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></a>', "xml.forbidden", {}),
    ("<a><!-- 注释 --></a>", "xml.forbidden", {}),  # comments still need drop_comments
    ("<a>" + "<b/>" * 20 + "</a>", "xml.too_complex", {"max_elements": 10}),
    ("<a><b></a>", "xml.malformed", {}),
])
def test_every_other_rule_holds_after_transcoding(body, code, options):
    limits = ParseLimits(max_bytes=FILE_LIMITS.max_bytes, **options)
    assert refused(declared("GBK", body), limits=limits, legacy_chinese=True) == code


def test_a_second_declaration_inside_the_text_changes_nothing():
    # Only the declaration is rewritten; a look-alike in the content stays content.
    root = legacy(declared("GBK", '<a>encoding="GBK"</a>'))
    assert root.text == 'encoding="GBK"'
