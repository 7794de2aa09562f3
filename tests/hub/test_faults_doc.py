"""docs/faults.md documents exactly the codes the hub can send, with the same messages."""
from __future__ import annotations

import re
from pathlib import Path

from protocol.errors import FAULTS, HubError

DOC = Path(__file__).resolve().parents[2] / "docs" / "faults.md"


def test_every_code_is_documented_with_its_message():
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| (?:Client|Server) \| \d{3} \| (.+?) \|$", DOC.read_text(), re.M))
    assert rows == {code: spec.message for code, spec in FAULTS.items()}


def test_unregistered_code_is_refused():
    try:
        HubError("no.such.code")
    except ValueError:
        return
    raise AssertionError("an unregistered code was accepted")
