"""The parser's element and namespace limits hold while parsing, not only after the tree is built."""
from __future__ import annotations

import pytest
from lxml import etree

from protocol import xmlparse
from protocol.errors import SecurityError
from protocol.xmlparse import DEFAULT_LIMITS, ENVELOPE_LIMITS, ParseLimits, parse_untrusted


@pytest.fixture
def fed(monkeypatch) -> list[int]:
    """The size of every chunk handed to a pull parser by ``parse_untrusted``."""
    sizes, real = [], etree.XMLPullParser

    class Counting(real):
        def feed(self, data):
            sizes.append(len(data))
            return super().feed(data)

    monkeypatch.setattr(xmlparse.etree, "XMLPullParser", Counting)
    return sizes


def test_element_flood_stops_early(fed):
    flood = b"<f>" + b"<a/>" * 2_500_000 + b"</f>"  # 10 MB
    with pytest.raises(SecurityError) as raised:
        parse_untrusted(flood, limits=ENVELOPE_LIMITS)
    assert raised.value.code == "xml.too_complex"
    assert fed and sum(fed) <= 64 * 1024  # the 5,001st element is within the first chunk


def test_namespace_flood_stops_early(fed):
    declarations = b" ".join(b"xmlns:p%d='urn:p%d'" % (i, i) for i in range(200_000))
    with pytest.raises(SecurityError) as raised:
        parse_untrusted(b"<a " + declarations + b"/>")
    assert raised.value.code == "xml.too_complex"
    assert fed  # counted while parsing (libxml2 reads a start tag whole: one element, one chunk's worth)


@pytest.mark.parametrize("limits", [ENVELOPE_LIMITS, DEFAULT_LIMITS, ParseLimits(max_elements=10)])
def test_counting_path_gives_the_same_tree(fed, limits):
    """A document with more '<' than the element limit, but fewer elements, parses as usual."""
    count = limits.max_elements
    data = b"<r xmlns='urn:x' xmlns:y='urn:y'>" + b"<y:e k='v'>t</y:e>" * (count - 1) + b"</r>"
    assert data.count(b"<") > count
    root = parse_untrusted(data, limits=limits)
    assert fed and etree.tostring(root) == etree.tostring(etree.fromstring(data))
    assert len(root) == count - 1


def test_counting_path_keeps_every_other_rule(fed):
    padding = b"<p></p>" * 3_000  # more "<" than the envelope's 5,000 elements, fewer elements
    for data, code in [(b"<a>" + padding + b"<!-- c --></a>", "xml.forbidden"),
                       (b"<a>" + padding + b"<b>", "xml.malformed"),
                       (b"<a>" * 300 + b"</a>" * 300, "xml.too_deep")]:
        with pytest.raises(SecurityError) as raised:
            parse_untrusted(data, limits=ENVELOPE_LIMITS)
        assert raised.value.code == code
    assert fed


def test_small_documents_skip_the_counting_parser(fed):
    assert parse_untrusted(b"<a><b/></a>").tag == "a"
    assert fed == []
