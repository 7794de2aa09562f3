"""docs/workflows.md lists exactly the registered alert kinds, with their severities and titles."""
from __future__ import annotations

import re
from pathlib import Path

from hub.workflows.kinds import ALERT_KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


def test_the_alert_kinds_table_is_the_registry():
    rows = re.findall(r"^\| `([a-z_.]+)` \| (critical|warning|notice) \| (.+?) \| (.+?) \|$", DOC.read_text("utf-8"),
                      re.M)
    assert {code: (severity, title, title_zh) for code, severity, title, title_zh in rows} == {
        code: (kind.severity.value, kind.title, kind.title_zh) for code, kind in ALERT_KINDS.items()}
