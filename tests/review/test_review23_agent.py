"""Review of issue 23 (the clinic agent): the hub normalizes full-width and spaced resident IDs and keeps
the document, but ``hie-agent`` validates each document against the XSD before sending it and
quarantines it at the clinic, so the hub never sees it. Same for every source kind. Samples:
adapters/samples (synthetic patients), the patient's ID retyped as an input method leaves it."""
from __future__ import annotations

import pytest

from hub.mpi.resident_id import make_resident_id
from tests.adapters.sources.conftest import hl7_options, run, sample  # noqa: F401 (fixture)
from tests.adapters.sources.test_rows import LAB
from tests.support.documents import document_bytes

SAMPLE_ID = "330106197205180044"  # the synthetic patient of the HL7 and CSV samples


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


TYPED = [pytest.param(full_width(SAMPLE_ID), id="full-width"), pytest.param(SAMPLE_ID[:6] + " " + SAMPLE_ID[6:], id="space")]


def _sent(items) -> None:
    [item] = items[:1]
    assert item.problem is None, f"quarantined at the clinic, never sent: {item.problem}"


@pytest.mark.parametrize("typed", TYPED)
def test_review23_agent_hl7_visit_with_a_retyped_id_is_sent_not_quarantined(typed, hl7_options):
    payload = sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7").replace(SAMPLE_ID.encode(), typed.encode())
    _sent(run("hl7v2", payload, hl7_options))


@pytest.mark.parametrize("typed", TYPED)
def test_review23_agent_csv_lab_results_with_a_retyped_id_are_sent_not_quarantined(typed):
    payload = sample("csv", "lis_lab_results_utf8_bom.csv").replace(SAMPLE_ID.encode(), typed.encode())
    _sent(run("csv", payload, LAB))


def test_review23_agent_canonical_file_with_a_full_width_id_is_sent_not_quarantined():
    rid = full_width(make_resident_id("33010619800101002"))
    payload = document_bytes("OutpatientVisit", patient={"resident_id": rid, "name": "合成测试甲", "birth_date": "1980-01-01"})
    _sent(run("canonical", payload))
