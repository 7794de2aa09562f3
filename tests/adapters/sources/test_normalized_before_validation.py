"""The clinic agent normalizes a document before validating it, as the hub does (schemas/normalize.py):
a full-width or spaced resident ID is sent, not quarantined at the clinic where the hub never sees it.
Samples: adapters/samples (synthetic patients), the patient's ID retyped as an input method leaves it."""
from __future__ import annotations

import pytest

from hub.mpi.resident_id import make_resident_id
from tests.adapters.sources.conftest import hl7_options, run, sample  # noqa: F401 (fixture)
from tests.adapters.sources.test_rows import LAB
from tests.support.documents import document_bytes

SAMPLE_ID = "330106197205180044"  # the synthetic patient of the HL7 and CSV samples
RESIDENT_ROOT = "2.16.156.10011.1.3"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


TYPED = [pytest.param(full_width(SAMPLE_ID), id="full-width"),
         pytest.param(SAMPLE_ID[:6] + " " + SAMPLE_ID[6:], id="space")]


def sent_id(items) -> str:
    """The resident ID of the first item, which must have been sent (not quarantined)."""
    [item] = items[:1]
    assert item.problem is None, f"quarantined at the clinic, never sent: {item.problem}"
    [extension] = item.document.xpath("//*[local-name()='patient']/*[local-name()='id'][@root=$r]/@extension",
                                      r=RESIDENT_ROOT)
    return extension


@pytest.mark.parametrize("typed", TYPED)
def test_hl7_visit_with_a_retyped_id_is_sent_as_normalized(typed, hl7_options):
    payload = sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7").replace(SAMPLE_ID.encode(), typed.encode())
    assert sent_id(run("hl7v2", payload, hl7_options)) == SAMPLE_ID


@pytest.mark.parametrize("typed", TYPED)
def test_csv_lab_results_with_a_retyped_id_are_sent_as_normalized(typed):
    payload = sample("csv", "lis_lab_results_utf8_bom.csv").replace(SAMPLE_ID.encode(), typed.encode())
    assert sent_id(run("csv", payload, LAB)) == SAMPLE_ID


def test_canonical_file_with_a_full_width_id_is_sent_as_normalized():
    rid = make_resident_id("33010619800101002")
    payload = document_bytes("OutpatientVisit", patient={"resident_id": full_width(rid), "name": "合成测试甲",
                                                         "birth_date": "1980-01-01"})
    assert sent_id(run("canonical", payload)) == rid


def test_canonical_file_with_a_wrong_clinical_code_is_still_quarantined():
    """Only spellings and the patient header are repaired: an unknown diagnosis code is refused as before."""
    payload = document_bytes("OutpatientVisit").replace(b'code="I10"', b'code="IX0"')
    assert b"IX0" in payload
    [item] = run("canonical", payload)
    assert item.problem is not None and item.problem.code.startswith("record.")
