"""``parse_untrusted(drop_comments=True)``: for unsigned clinic files (CDA), every other rule holds."""
from __future__ import annotations

import pytest

from protocol.errors import SecurityError
from protocol.xmlparse import parse_untrusted

WITH_COMMENT = b"<a><!-- template note --><b>x</b><?pi data?></a>"


def test_comments_are_refused_by_default():
    with pytest.raises(SecurityError) as raised:
        parse_untrusted(WITH_COMMENT)
    assert raised.value.code == "xml.forbidden"


def test_drop_comments_removes_comments_and_pis():
    root = parse_untrusted(WITH_COMMENT, drop_comments=True)
    assert [child.tag for child in root] == ["b"] and root.findtext("b") == "x"


@pytest.mark.parametrize("data, code", [
    (b'<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>', "xml.forbidden"),
    (b"<a>" * 60 + b"</a>" * 60, "xml.too_deep"),
    (b'<?xml version="1.0" encoding="GB2312"?><a/>', "xml.malformed"),
    (b'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></a>', "xml.forbidden"),
])
def test_drop_comments_keeps_every_other_rule(data, code):
    with pytest.raises(SecurityError) as raised:
        parse_untrusted(data, drop_comments=True)
    assert raised.value.code == code
