"""``bench.records``'s documents are what a clinic sends on an ordinary day: valid and plausible, so the
bench times the everyday path (before 2026-12-05 an adult's Immunization carried the example's MMR: one
document in seven had an age finding real data would not)."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from bench.records import build_documents
from hub.records.store import prepare


def test_the_bench_documents_are_valid_and_carry_no_finding():
    received = datetime(2026, 12, 5, tzinfo=timezone.utc)
    documents = build_documents(300)
    found = {}
    for member, data in documents:
        item = prepare(SimpleNamespace(document=data, member=member, received_at=received))
        for finding in item.findings:
            found[finding.code] = found.get(finding.code, 0) + 1
    assert found == {}
    vaccines = {data.split(b'<vaccine code="')[1].split(b'"')[0] for _m, data in documents if b"<vaccine " in data}
    assert vaccines == {b"MMR", b"Flu"}  # children and adults both among the patients
