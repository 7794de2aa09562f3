"""Every code of the fault table has its meaning in Chinese as well as in English (the console shows
the Chinese one), and neither is an empty or placeholder text."""
from __future__ import annotations

import re

from protocol.errors import FAULTS

_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_no_fault_code_lacks_a_chinese_meaning():
    lacking = [code for code, spec in FAULTS.items()
               if not spec.message_zh.strip() or not _HAN.search(spec.message_zh)]
    assert lacking == []


def test_the_chinese_meanings_are_one_line_and_tell_the_codes_apart():
    assert all("\n" not in spec.message_zh and spec.message_zh != spec.message for spec in FAULTS.values())
    texts = [spec.message_zh for spec in FAULTS.values()]
    assert len(set(texts)) == len(texts)
