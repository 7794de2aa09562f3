"""The byte gate of schemas/normalize.py (``_may_need_walk``) over every character of the Halfwidth and
Fullwidth Forms block, alone and right after full-width punctuation (two 0xEF lead bytes in a row):
it lets a document through to the tree walk exactly when it holds a full-width digit or Latin letter."""
from __future__ import annotations

import pytest

from schemas import normalize

WIDE = set(range(0xFF10, 0xFF1A)) | set(range(0xFF21, 0xFF3B)) | set(range(0xFF41, 0xFF5B))


@pytest.mark.parametrize("before", ["", "，", "每日一次，（饭后）", "｡"])
def test_the_gate_opens_for_a_full_width_digit_or_letter_only(before):
    for code in range(0xFF00, 0xFFF0):
        text = f'<a><name>{before}{chr(code)}，</name><sex code="1"/></a>'
        assert normalize._may_need_walk(text.encode("utf-8")) is (code in WIDE), hex(code)
