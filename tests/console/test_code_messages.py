"""What a finding or rejection code means, as the console writes it beside the code
(hub/web/console/i18n.py ``code_message``): the fixed text of the protocol's tables, never empty."""
from __future__ import annotations

from hub.web.console.i18n import code_message
from protocol.errors import FAULTS
from protocol.findings import FINDINGS


def test_a_rejection_and_a_finding_code_are_said_in_either_language():
    assert code_message("record.code.unknown", "zh") == FAULTS["record.code.unknown"].message_zh
    assert code_message("record.code.unknown", "en") == FAULTS["record.code.unknown"].message
    assert code_message("record.code.unverified", "zh").startswith("编码格式正确但不在平台编码表中")
    assert code_message("no.such.code", "zh") == ""


def test_every_code_has_a_line_in_both_languages():
    assert [code for code in sorted({*FAULTS, *FINDINGS})
            if not (code_message(code, "zh") and code_message(code, "en"))] == []
