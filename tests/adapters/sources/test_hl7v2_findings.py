"""Findings from real and realistic HL7 v2 messages (issue 23): the adapter never drops or bends a
value silently. A repetition in a single-valued field is read where one reading makes sense and
quarantined (``source.hl7.repetition.ambiguous``) where none does; a division-only address keeps
its division; ``\\.br\\`` is a line break wherever the canonical field can hold one."""
from __future__ import annotations

import pytest

from adapters.sources.hl7v2_text import lines, unescape

from .conftest import NS, assert_clean_quarantine, run, sample, value

LIS = "oru_r01_chinese_lis_tilde.hl7"  # a Chinese LIS writing ranges with an unescaped tilde
VISIT = "adt_a03_outpatient_visit_mllp.hl7"
STAY = "adt_a03_inpatient_discharge_lf.hl7"


def only(items):
    assert len(items) == 1, items
    assert items[0].problem is None, items[0].problem
    return items[0].document


def result_range(document, number: int) -> tuple[str, str]:
    found = document.xpath(f"d:body/d:result[{number}]/d:referenceRange", namespaces=NS)
    assert found, f"result {number} has no reference range"
    return found[0].get("low"), found[0].get("high")


# ----- 1. repetitions in single-valued fields -----

def test_an_unescaped_tilde_range_is_low_and_high():
    document = only(run("hl7v2", sample("hl7v2", LIS)))
    assert result_range(document, 1) == ("65", "85")  # OBX-7 65~85 (总蛋白 g/L)
    assert result_range(document, 2) == ("137", "147")  # the HL7 spelling, as before
    assert result_range(document, 3) == ("0", "3")


def test_a_text_result_keeps_its_tilde_as_typed():
    document = only(run("hl7v2", sample("hl7v2", LIS)))
    assert value(document, "d:body/d:result[3]/d:value") == "0~2"  # ST: 0~2 red cells per HPF
    typed = sample("hl7v2", LIS).replace(b"||0~2|", "||阳性^2+\\.br\\复查|".encode())
    document = only(run("hl7v2", typed))
    assert value(document, "d:body/d:result[3]/d:value") == "阳性^2+\n复查"


def test_multipart_results_keep_every_repetition():
    document = only(run("hl7v2", sample("hl7v2", LIS)))
    assert value(document, "d:body/d:result[4]/d:value") == "大肠埃希菌; 肺炎克雷伯菌"  # CWE: two answers
    assert value(document, "d:body/d:result[5]/d:value") == "标本轻度溶血\n结果仅供参考\n请结合临床"  # TX lines


@pytest.mark.parametrize("reference, expected", [
    ("１~２", ("1", "2")),  # an LIS in full-width mode: ASCII digits in the decimal, the report kept
    ("３.９－６.１", ("3.9", "6.1")),
    ("~10", (None, "10")),  # one side empty: the one bound is kept, as <10 would be
    ("3.5~", ("3.5", None)),
    ("～１０", (None, "10")),
])
def test_a_full_width_or_one_sided_range_keeps_its_bounds_and_the_report(reference, expected):
    payload = sample("hl7v2", LIS).replace(b"|65~85|", f"|{reference}|".encode())
    document = only(run("hl7v2", payload))
    assert document.xpath("count(d:body/d:result)", namespaces=NS) == 5
    assert result_range(document, 1) == expected


@pytest.mark.parametrize("reference", [b"3.9-6.1~4.0-6.0", b"85~65", b"65~75~85", b"65~>85", b"A~65"])
def test_a_range_with_no_single_reading_is_quarantined(reference):
    payload = sample("hl7v2", LIS).replace(b"|65~85|", b"|" + reference + b"|")
    (item,) = run("hl7v2", payload)
    assert_clean_quarantine(item, "source.hl7.repetition.ambiguous")
    assert item.problem.field == "OBX-7"


@pytest.mark.parametrize("name, old, new, field", [
    (VISIT, b"|19720518|F|", b"|19720518~19720815|F|", "PID-7"),
    (VISIT, b"|19720518|F|", b"|19720518|F~M|", "PID-8"),
    (VISIT, b"|||XNK|||", b"|||XNK~NK2|||", "PV1-10"),
    (VISIT, b"|MZ20261118-0042|", b"|MZ20261118-0042~MZ20261118-0043|", "PV1-19"),
    (VISIT, b"|20261118091000", b"|20261118091000~20261118093000", "PV1-44"),
    (VISIT, b"|I10^", b"|I10~I11^", "DG1-3"),
    (VISIT, b"|1|86.50", b"|1|86.50~68.50", "FT1-11"),
    (STAY, b"|20261120150000|", b"|20261120150000~20261121150000|", "PV1-45"),
    (STAY, b"|8862.30", b"|8862.30~8962.30", "PV1-47"),
    ("oru_r01_lab_results.hl7", b"|6.8|mmol/L|", b"|6.8~7.1|mmol/L|", "OBX-5"),
    ("oru_r01_lab_results.hl7", b"|6.8|mmol/L|", b"|6.8|mmol/L~mg/dL|", "OBX-6"),
    ("oru_r01_lab_results.hl7", b"|3.9-6.1|H|", b"|3.9-6.1|H~L|", "OBX-8"),
    ("oru_r01_lab_results.hl7", b"|20261122110000|||F", b"|20261122110000~20261122120000|||F", "OBR-22"),
    ("rde_o11_prescription.hl7", b"|||1|", b"|||1~2|", "RXE-10"),
    ("rds_o13_dispense.hl7", b"|AML2605117", b"|AML2605117~AML2605118", "RXD-18"),
])
def test_a_single_valued_field_with_different_repetitions_is_quarantined(name, old, new, field, hl7_options):
    payload = sample("hl7v2", name)
    assert old in payload
    items = run("hl7v2", payload.replace(old, new, 1), hl7_options)
    problems = [i for i in items if i.problem]
    assert problems, f"{field}: a repetition was taken silently"
    assert_clean_quarantine(problems[0], "source.hl7.repetition.ambiguous")
    assert problems[0].problem.field == field


def test_a_control_id_with_repetitions_is_quarantined():
    payload = sample("hl7v2", "oru_r01_lab_results.hl7").replace(b"|LAB20261122-0877|", b"|LAB20261122-0877~0878|")
    (item,) = run("hl7v2", payload)
    assert_clean_quarantine(item, "source.hl7.repetition.ambiguous")
    assert (item.key, item.problem.field) == ("LAB20261122-0877#message", "MSH-10")


def test_a_registration_field_with_repetitions_is_quarantined():
    registration = sample("hl7v2", "adt_a04_registration_gb18030.hl7")
    assert registration.count(b"|||M|") == 1
    (item,) = run("hl7v2", registration.replace(b"|||M|", b"|||M~S|"))  # PID-16 marital status
    assert_clean_quarantine(item, "source.hl7.repetition.ambiguous")
    assert item.problem.field == "PID-16"


@pytest.mark.parametrize("sex", [b"F~F", b"F~", b"~F"])
def test_empty_or_repeated_repetitions_are_not_ambiguous(sex, hl7_options):
    payload = sample("hl7v2", VISIT).replace(b"|19720518|F|", b"|19720518|" + sex + b"|")
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:header/d:patient/d:sex", "code") == "2"


def test_repeating_fields_keep_their_documented_reading(hl7_options):
    # PID-13: the first repetition holding a phone (here an e-mail comes first); PV1-7: the first doctor.
    payload = sample("hl7v2", VISIT).replace(b"||13800000011", b"||^NET^Internet^zhou@example.com~13800000011") \
        .replace(b"D0001^", b"D0001^\xe6\x9d\x8e^\xe5\x8c\xbb\xe7\x94\x9f~D0002^", 1)
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:header/d:patient/d:telecom", "value") == "13800000011"
    assert value(document, "d:header/d:author/d:practitioner", "code") == "D0001"
    lab = only(run("hl7v2", sample("hl7v2", LIS)))
    assert value(lab, "d:body/d:orderedBy", "code") == "D0001"  # OBR-16 D0001~D0002


def test_several_instructions_are_lines_of_the_dosage(hl7_options):
    payload = sample("hl7v2", "rde_o11_prescription.hl7").replace(
        "|^每日一次，每次5mg，口服|".encode(), "|^每日一次，每次5mg，口服~^晨起服用|".encode())
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:body/d:item[1]/d:dosage") == "每日一次，每次5mg，口服\n晨起服用"


# ----- 2. an address that holds only its division code -----

@pytest.mark.parametrize("address, text, division", [
    (b"^^^^^^^^330106", "浙江省杭州市西湖区", "330106"),  # XAD-9 only: the sample as the HIS sent it
    (b"^^^330000", "浙江省", "330000"),  # a division code in XAD-4 (province), nothing else
    (b"^^^330000^^^^^330106", "浙江省杭州市西湖区", "330106"),  # XAD-4 and XAD-9 codes, no street
    ("示例路1号^^^330000^^^^^330106".encode(), "示例路1号", "330106"),  # a code is not address text
])
def test_a_division_only_address_keeps_its_division(address, text, division, hl7_options):
    payload = sample("hl7v2", VISIT).replace(b"^^^^^^^^330106", address)
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:header/d:patient/d:address") == text
    assert value(document, "d:header/d:patient/d:address", "division") == division


# ----- 3. \.br\ is a line break where the canonical field can hold one -----

def test_line_breaks_stay_in_element_text(hl7_options):
    payload = sample("hl7v2", VISIT).replace(b"^^^^^^^^330106", "杭州市西湖区\\.br\\示例路1号^^^^^^^^330106".encode())
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:header/d:patient/d:address") == "杭州市西湖区\n示例路1号"
    stay = sample("hl7v2", STAY).replace("神经内科二病区".encode(), "神经内科\\.sp\\二病区".encode())
    document = only(run("hl7v2", stay))
    assert value(document, "d:body/d:ward") == "神经内科\n二病区"


def test_line_breaks_in_attributes_and_names_become_spaces(hl7_options):
    payload = sample("hl7v2", VISIT).replace("特发性(原发性)高血压".encode(), "特发性\\.br\\(原发性)高血压".encode()) \
        .replace("周^晓梅".encode(), "周^晓\\.br\\梅".encode())
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:body/d:diagnosis[1]", "displayName") == "特发性 (原发性)高血压"
    assert value(document, "d:header/d:patient/d:name") == "周晓 梅"


def test_a_line_break_inside_a_code_is_quarantined(hl7_options):
    payload = sample("hl7v2", VISIT).replace(b"|E11.9^", b"|E11\\.br\\.9^")
    (item,) = run("hl7v2", payload, hl7_options)
    assert_clean_quarantine(item, "source.hl7.escape.invalid")
    assert item.problem.field == "DG1-3"


def test_formatting_escapes_that_end_a_line():
    kwargs = {"encoding_characters": "^~\\&", "field_separator": "|", "codec": "utf-8", "field": "X-1"}
    assert unescape(r"a\.br\b\.sp\c\.ce\d\.in2\e", **kwargs) == "a\nb\nc\nde"
    assert lines("  a   b \n\n c\n") == "a b\n\nc"
