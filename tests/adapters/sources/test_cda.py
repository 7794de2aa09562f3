"""The cda source: WS/T 500 documents → canonical documents; unknown templates and unsafe XML refused."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from adapters.sources.cda import MAX_LOCATION
from adapters.sources.values import person_name

from .conftest import NS, assert_clean_quarantine, run, sample, value

OPTIONS = {"codes": {"department": {"XNK": "03.04"}},
           "charge_codes": {"HIS-JCF": "examinations", "HIS-ZLF": "treatment"}}


def mapped(name: str):
    items = run("cda", sample("cda", name), OPTIONS)
    assert len(items) == 1 and items[0].problem is None, items[0].problem
    return items[0]


def test_outpatient_record():
    item = mapped("wst500_c0002_outpatient_record.xml")
    document = item.document
    assert item.key == "cda:2.16.156.10011.2.1.1.22:CDA-MZ-2026-000311:2"
    assert value(document, "d:header/d:id", "extension") == "CDA-MZ-2026-000311"
    assert value(document, "d:header/d:version") == "2"
    assert value(document, "d:header/d:author/d:institution", "code") == "CLINIC01"  # not the custodian
    assert value(document, "d:header/d:patient/d:id[@root='2.16.156.10011.1.3']", "extension") == "330106197205180044"
    assert value(document, "d:header/d:patient/d:telecom", "value") == "13800000011"
    assert value(document, "d:header/d:patient/d:address") == "浙江省杭州市西湖区示例街道示例路1号3幢"
    assert value(document, "d:body/d:visitTime", "value") == "2026-11-18T09:10:00+08:00"
    assert value(document, "d:body/d:department", "code") == "03.04"
    assert [d.get("code") for d in document.xpath("d:body/d:diagnosis", namespaces={"d": "urn:hie:doc:v1"})] == ["I10", "E11.9"]
    # The unmapped total (HIS-ZFY) is not added to its parts.
    assert [(c.get("category"), c.get("amount")) for c in document.xpath("//d:charge", namespaces={"d": "urn:hie:doc:v1"})] \
        == [("drugs", "86.50"), ("examinations", "40.00")]


def test_inpatient_front_page():
    document = mapped("wst500_c0032_inpatient_front_page.xml").document
    assert value(document, "d:body/d:admissionTime", "value") == "2026-11-12T10:20:00+08:00"
    assert value(document, "d:body/d:dischargeTime", "value") == "2026-11-20T15:00:00+08:00"
    assert value(document, "d:body/d:department", "code") == "03.03"
    assert value(document, "d:body/d:bedDays") == "8"
    assert value(document, "d:body/d:dischargeOutcome", "code") == "1"
    assert value(document, "d:body/d:diagnosis[1]", "code") == "I63.9"
    assert value(document, "d:body/d:procedure", "code") == "88.9100"
    # as the CDA holds it: the hub upper-cases the x and tells the clinic (record.patient.id.normalized)
    assert value(document, "d:header/d:patient/d:id[2]", "extension") == "33010919550930013x"


def test_lab_report():
    document = mapped("wst500_c0007_lab_report.xml").document
    assert value(document, "d:body/d:result[1]/d:value") == "11.8"
    assert value(document, "d:body/d:result[1]/d:referenceRange", "high") == "9.5"
    assert value(document, "d:body/d:result[2]/d:abnormalFlag", "code") == "H"


def test_unknown_template_is_quarantined():
    items = run("cda", sample("cda", "bad_unknown_template.xml"))
    assert len(items) == 1
    assert_clean_quarantine(items[0], "source.cda.template.unknown")


@pytest.mark.parametrize("payload, code", [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ClinicalDocument/>',
     "source.cda.xml.forbidden"),
    (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id", "source.cda.xml.malformed"),
    (b"<Other xmlns='urn:hl7-org:v3'/>", "source.cda.root.invalid"),
])
def test_unsafe_or_broken_xml(payload, code):
    assert_clean_quarantine(run("cda", payload)[0], code)


def test_missing_costs_and_missing_diagnosis():
    text = sample("cda", "wst500_c0002_outpatient_record.xml")
    no_costs = text.replace(b"48768-6", b"00000-0")
    assert_clean_quarantine(run("cda", no_costs, OPTIONS)[0], "source.cda.charges.missing")
    no_icd = text.replace(b'codeSystem="2.16.156.10011.2.3.3.11', b'codeSystem="2.16.156.10011.2.3.3.99') \
        .replace("(ICD-10)".encode(), b"(local)")
    assert_clean_quarantine(run("cda", no_icd, OPTIONS)[0], "source.cda.section.missing")


def test_bad_birth_time():
    text = sample("cda", "wst500_c0007_lab_report.xml").replace(b"19901111", b"19901345")
    assert_clean_quarantine(run("cda", text)[0], "source.cda.datetime.invalid")


PRESCRIPTION_OPTIONS = {"codes": {"department": {"XNK": "03.04"},
                                  "drug": {"苯磺酸氨氯地平片": "YP0012", "X0019": "YP0019"}}}


def test_prescription():
    items = run("cda", sample("cda", "wst500_c0004_prescription.xml"), PRESCRIPTION_OPTIONS)
    assert items[0].problem is None, items[0].problem
    document = items[0].document
    assert items[0].key == "cda:2.16.156.10011.2.1.1.24:CDA-CF-2026-004417:1"  # empty versionNumber
    assert document.tag == "{urn:hie:doc:v1}Prescription"
    assert value(document, "d:header/d:typeCode", "code") == "C0004"
    assert value(document, "d:body/d:prescriptionTime", "value") == "2026-11-18T10:12:00+08:00"  # author/time
    assert value(document, "d:body/d:department", "code") == "03.04"
    # The 处方编号 (root 2.16.156.10011.1.20) on patientRole identifies the prescription, not the person.
    assert [i.get("root") for i in document.xpath("d:header/d:patient/d:id", namespaces=NS)] \
        == ["2.16.156.10011.1.11", "2.16.156.10011.1.3"]
    assert [d.get("code") for d in document.xpath("d:body/d:diagnosis", namespaces=NS)] == ["I10", "E11.9"]
    first, second = document.xpath("d:body/d:item", namespaces=NS)
    assert (first.xpath("string(d:drug/@code)", namespaces=NS), first.xpath("string(d:drug/@displayName)",
                                                                             namespaces=NS)) \
        == ("YP0012", "苯磺酸氨氯地平片")  # no code in the CDA: mapped by name
    assert value(first, "d:specification") == "5mg*28片"
    assert (value(first, "d:quantity"), value(first, "d:unit")) == ("140", "mg")  # 药物使用总剂量
    assert value(first, "d:dosage") == "5 mg qd 口服"
    assert (value(second, "d:drug", "code"), value(second, "d:quantity"), value(second, "d:dosage")) \
        == ("YP0019", "28", "0.50 g bid 口服")


def test_prescription_drug_without_a_hub_code():
    items = run("cda", sample("cda", "wst500_c0004_prescription.xml"), {"codes": {"department": {"XNK": "03.04"}}})
    # The named drug has no code and no mapping: the adapter cannot invent one.
    assert_clean_quarantine(items[0], "source.cda.field.missing")
    text = sample("cda", "wst500_c0004_prescription.xml").replace(b"10160-0", b"00000-0")
    assert_clean_quarantine(run("cda", text, PRESCRIPTION_OPTIONS)[0], "source.cda.section.missing")


# --- legacy Chinese encodings (docs/adapters.md: declared encodings are read) -------------------------

NEW_PATIENT_DATA = ("诸葛", "明远", "欧阳", "晓梅", "330102199011110375", "330106197205180044")


def test_gb18030_file_with_family_and_given_name():
    document = mapped("wst500_c0007_lab_report_gb18030.xml").document
    assert value(document, "d:header/d:patient/d:name") == "诸葛明远"  # not 诸葛 明远
    assert value(document, "d:header/d:author/d:practitioner", "name") == "刘䶮"  # 䶮: GB 18030, not GBK
    assert value(document, "d:body/d:result[1]/d:value") == "11.8"


def test_gbk_file_reads_as_its_utf8_original():
    gbk = mapped("wst500_c0002_outpatient_record_gbk.xml").document
    utf8 = mapped("wst500_c0002_outpatient_record.xml").document
    assert value(gbk, "d:header/d:patient/d:name") == "欧阳晓梅"
    assert etree.tostring(gbk.find("d:body", NS)) == etree.tostring(utf8.find("d:body", NS))


@pytest.mark.parametrize("encoding", ["GBK", "GB2312", "GB18030"])
def test_declared_encodings_are_read(encoding):
    text = sample("cda", "wst500_c0007_lab_report.xml").decode()
    payload = text.replace('encoding="UTF-8"', f'encoding="{encoding}"').encode("gb18030")
    assert value(mapped_payload(payload), "d:header/d:patient/d:name") == "郑浩"


def mapped_payload(payload: bytes, options=None):
    items = run("cda", payload, options or OPTIONS)
    assert len(items) == 1 and items[0].problem is None, items[0].problem
    return items[0].document


@pytest.mark.parametrize("mangle, code", [
    (lambda gbk: gbk.replace("诸葛".encode("gb18030"), b"\x81\x20"), "source.cda.xml.malformed"),  # undecodable
    (lambda gbk: b"\xef\xbb\xbf" + gbk, "source.cda.xml.malformed"),  # a UTF-8 BOM before a GB 18030 declaration
    (lambda gbk: gbk.replace(b"<ClinicalDocument", b'<!DOCTYPE x [<!ENTITY e "e">]><ClinicalDocument'),
     "source.cda.xml.forbidden"),
    (lambda gbk: gbk + b" " * (10 * 1024 * 1024), "source.file.too_large"),
    (lambda gbk: gbk.replace(b'encoding="GB18030"', b'encoding="Big5"'), "source.cda.xml.malformed"),
])
def test_legacy_files_keep_every_refusal(mangle, code):
    item = run("cda", mangle(sample("cda", "wst500_c0007_lab_report_gb18030.xml")))[0]
    assert_clean_quarantine(item, code)
    assert not any(secret in item.problem.field + item.problem.message for secret in NEW_PATIENT_DATA)


def test_a_gbk_file_too_large_once_transcoded_says_it_is_too_large():
    """7.2 MB of GBK grows to 10.8 MB of UTF-8: source.file.too_large, and its message does not call a
    well-formed file malformed (that would send the clinic's operator after an encoding or DTD problem)."""
    raw = sample("cda", "wst500_c0002_outpatient_record_gbk.xml")
    end = raw.rfind(b"</ClinicalDocument>")
    big = raw[:end] + ("<text>" + "注" * 3_600_000 + "</text>").encode("gbk") + raw[end:]
    assert len(big) < 10 * 1024 * 1024
    [item] = run("cda", big)
    assert_clean_quarantine(item, "source.file.too_large")
    assert "well-formed" not in item.problem.message and "too large" in item.problem.message


# --- names: one rule for every adapter (values.person_name) --------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("<name><family>诸葛</family><given>明远</given></name>", "诸葛明远"),
    ("<name>\n  <family>诸葛</family>\n  <given>明远</given>\n</name>", "诸葛明远"),
    ("<name><given>明远</given><family>诸葛</family></name>", "诸葛明远"),  # family first, as the hub stores names
    ("<name><family>Smith</family><given>John</given></name>", "Smith John"),  # Latin names keep their space
    ("<name><family>Ng</family><given>Wai</given><given>Ming</given></name>", "Ng Wai Ming"),
    ("<name>诸葛明远</name>", "诸葛明远"),
])
def test_patient_name_parts(name, expected):
    payload = sample("cda", "wst500_c0007_lab_report.xml").replace("<name>郑浩</name>".encode(), name.encode())
    assert value(mapped_payload(payload), "d:header/d:patient/d:name") == expected


def test_practitioner_name_parts():
    payload = sample("cda", "wst500_c0007_lab_report.xml").replace(
        "<name>钱检验师</name>".encode(), "<name><family>钱</family><given>检验</given></name>".encode())
    assert value(mapped_payload(payload), "d:header/d:author/d:practitioner", "name") == "钱检验"


@pytest.mark.parametrize("parts, expected", [
    (("诸葛", "明远"), "诸葛明远"), (("王", ""), "王"), (("Smith", "John"), "Smith John"), (("李", "Anna"), "李Anna"),
    ((" 诸葛 ", "明远\n"), "诸葛明远"), (("", ""), ""), (("𠀀", "明"), "𠀀明"),
])
def test_person_name_rule(parts, expected):
    assert person_name(*parts) == expected


# --- quarantine locations: short, findable in the file, never a value -------------------------------------

@pytest.mark.parametrize("name, old, new, code, field", [
    ("wst500_c0032_inpatient_front_page.xml", b'<low value="20261112102000"', b'<low value="20261312102000"',
     "source.cda.datetime.invalid", "componentOf/encompassingEncounter/effectiveTime/low/@value"),
    ("wst500_c0007_lab_report.xml", b'<birthTime value="19901111"', b'<birthTime value="19901345"',
     "source.cda.datetime.invalid", "recordTarget/patientRole/patient/birthTime/@value"),
    ("wst500_c0002_outpatient_record.xml", b'value="40" currency', b'value="4O" currency',
     "source.cda.number.invalid", "section[48768-6 费用]/entry[2]/observation/value/@value"),
    ("wst500_c0032_inpatient_front_page.xml", b'<effectiveTime value="20261113100000"/>',
     b'<effectiveTime value="20261399"/>', "source.cda.datetime.invalid",
     "section[47519-4 手术操作]/entry/procedure/effectiveTime/@value"),
    ("wst500_c0007_lab_report.xml", b'<time value="20261122110000"/>', b'<time value="2026112"/>',
     "source.cda.datetime.invalid", "author/time/@value"),
    ("wst500_c0002_outpatient_record.xml", b"<effectiveTime value=\"20261118101500\"/>", b"<effectiveTime/>",
     "source.cda.field.missing", "effectiveTime/@value"),
    ("wst500_c0002_outpatient_record.xml", b"29548-5", b"00000-0", "source.cda.section.missing",
     "section[29548-5 诊断]"),
])
def test_quarantine_location(name, old, new, code, field):
    payload = sample("cda", name)
    assert old in payload
    item = run("cda", payload.replace(old, new), OPTIONS)[0]
    assert_clean_quarantine(item, code)
    assert item.problem.field == field


def test_prescription_locations_are_short():
    text = sample("cda", "wst500_c0004_prescription.xml")
    item = run("cda", text, {"codes": {"department": {"XNK": "03.04"}}})[0]  # the named drug maps to no code
    assert item.problem.field == \
        "section[10160-0 用药]/entry[1]/…/consumable/manufacturedProduct/manufacturedLabeledDrug/code"
    assert len(item.problem.field) <= MAX_LOCATION


def test_location_never_echoes_odd_element_names():
    """A hostile file could name elements after a patient: locations use only ASCII element names."""
    text = sample("cda", "wst500_c0002_outpatient_record.xml").decode().replace('value="40" currency', 'value="4O" currency')
    hostile = re.sub(r'(<observation[^>]*>\s*<code code="HIS-JCF".*?</observation>)', r"<周晓梅>\1</周晓梅>", text,
                     flags=re.S)
    assert "<周晓梅><observation" in hostile
    item = run("cda", hostile.encode(), OPTIONS)[0]
    assert_clean_quarantine(item, "source.cda.number.invalid")
    assert item.problem.field == "section[48768-6 费用]/entry[2]/*/observation/value/@value"
