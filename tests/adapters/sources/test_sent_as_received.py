"""What a clinic's system typed is sent as it typed it, whatever the source: the agent judges a normalized
copy (as the hub judges after normalizing, schemas/normalize.py), so a full-width or spaced resident ID, a
lower-case ``x`` or sex ``F``/``女`` is not held at the clinic, and the hub, which normalizes it again,
records the finding and tells the clinic (docs/agent.md). Each case checks the document the agent sends and
what the hub's normalizer finds in it. Samples: adapters/samples (synthetic patients), retyped as an input
method or a clerk leaves them."""
from __future__ import annotations

import pytest
from lxml import etree

from hub.mpi.resident_id import make_resident_id
from schemas.normalize import normalize_document
from tests.adapters.sources.conftest import hl7_options, run, sample, value  # noqa: F401 (fixture)
from tests.adapters.sources.test_database import OPTIONS as VACCINATIONS, _row
from tests.adapters.sources.test_rows import LAB
from tests.support.documents import document_bytes

SAMPLE_ID = "330106197205180044"  # the synthetic patient of the HL7, CSV and CDA samples
RESIDENT_ROOT = "2.16.156.10011.1.3"
ID_NORMALIZED, SEX_NORMALIZED = "record.patient.id.normalized", "record.patient.sex.normalized"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


TYPED = [pytest.param(full_width(SAMPLE_ID), id="full-width"),
         pytest.param(SAMPLE_ID[:6] + " " + SAMPLE_ID[6:], id="space")]


def sent(items):
    """The first item's document, which must have been sent (not quarantined at the clinic)."""
    item = items[0]
    assert item.problem is None, f"quarantined at the clinic, never sent: {item.problem}"
    return item.document


def sent_id(document) -> str:
    [extension] = document.xpath("//*[local-name()='patient']/*[local-name()='id'][@root=$r]/@extension",
                                 r=RESIDENT_ROOT)
    return extension


def found_at_hub(document) -> set[str]:
    """The finding codes the hub's normalizer gives the bytes the agent sends."""
    data = etree.tostring(document, encoding="utf-8")
    findings = []
    normalize_document(etree.fromstring(data), data, findings)
    return {finding.code for finding in findings}


@pytest.mark.parametrize("typed", TYPED)
def test_hl7_visit_with_a_retyped_id_is_sent_as_typed(typed, hl7_options):
    payload = sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7").replace(SAMPLE_ID.encode(), typed.encode())
    document = sent(run("hl7v2", payload, hl7_options))
    assert sent_id(document) == typed
    assert ID_NORMALIZED in found_at_hub(document)


def test_hl7_sex_typed_in_chinese_is_sent_as_typed(hl7_options):
    """PID-8 ``F`` is HL7 table 0001's own code, translated like any code of the message; ``女`` is a slip."""
    payload = sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7")
    assert b"|19720518|F|" in payload
    document = sent(run("hl7v2", payload.replace(b"|19720518|F|", "|19720518|女|".encode()), hl7_options))
    assert value(document, "d:header/d:patient/d:sex", "code") == "女"
    assert found_at_hub(document) == {SEX_NORMALIZED}
    assert value(sent(run("hl7v2", payload, hl7_options)), "d:header/d:patient/d:sex", "code") == "2"


@pytest.mark.parametrize("typed", TYPED)
def test_csv_lab_results_with_a_retyped_id_are_sent_as_typed(typed):
    payload = sample("csv", "lis_lab_results_utf8_bom.csv").replace(SAMPLE_ID.encode(), typed.encode())
    document = sent(run("csv", payload, LAB))
    assert sent_id(document) == typed
    assert ID_NORMALIZED in found_at_hub(document)


def test_csv_sex_f_without_a_translation_is_sent_as_typed():
    payload = sample("csv", "lis_lab_results_utf8_bom.csv")
    header, first, *rest = payload.split(b"\n")
    columns = header.decode("utf-8-sig").strip().split(",")
    cells = first.decode().split(",")
    cells[columns.index("sex")] = "F"
    document = sent(run("csv", b"\n".join([header, ",".join(cells).encode(), *rest]), LAB))
    assert value(document, "d:header/d:patient/d:sex", "code") == "F"
    assert SEX_NORMALIZED in found_at_hub(document)


def test_database_row_with_a_lower_case_x_and_sex_f_is_sent_as_typed():
    rid = make_resident_id("33010620240510009")
    assert rid.endswith("X")  # a check character x: the case a clerk types in lower case
    row = {**_row("A", "09:00:00"), "id_card": rid.lower(), "sex": "F"}
    document = sent(run("database", [row], VACCINATIONS))
    assert (sent_id(document), value(document, "d:header/d:patient/d:sex", "code")) == (rid.lower(), "F")
    assert found_at_hub(document) == {ID_NORMALIZED, SEX_NORMALIZED}


@pytest.mark.parametrize("typed", TYPED)
def test_cda_with_a_retyped_id_is_sent_as_typed(typed):
    payload = sample("cda", "wst500_c0002_outpatient_record.xml").replace(SAMPLE_ID.encode(), typed.encode())
    document = sent(run("cda", payload, {"codes": {"department": {"XNK": "03.04"}}}))
    assert sent_id(document) == typed
    assert ID_NORMALIZED in found_at_hub(document)


@pytest.mark.parametrize("sex", ["F", "女"])
def test_canonical_file_with_a_full_width_id_and_a_spelled_sex_is_sent_as_the_file_holds_it(sex):
    rid = make_resident_id("33010619800101002")
    payload = document_bytes("OutpatientVisit", patient={"resident_id": full_width(rid), "name": "合成测试甲",
                                                         "birth_date": "1980-01-01", "sex": sex})
    document = sent(run("canonical", payload))
    assert etree.tostring(document, encoding="utf-8") == etree.tostring(etree.fromstring(payload), encoding="utf-8")
    assert found_at_hub(document) == {ID_NORMALIZED, SEX_NORMALIZED}


def test_canonical_file_with_a_malformed_clinical_code_is_still_quarantined():
    """Only spellings and the patient header are repaired: a diagnosis that is no ICD-10 code is refused as
    before, at the clinic (no list can make it valid, so the hub would refuse it too)."""
    payload = document_bytes("OutpatientVisit").replace(b'code="I10"', b'code="IX0"')
    assert b"IX0" in payload
    [item] = run("canonical", payload)
    assert item.problem is not None and item.problem.code.startswith("record.")
