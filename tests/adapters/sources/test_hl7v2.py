"""The hl7v2 source: named samples → canonical documents, bad inputs → clean quarantines."""
from __future__ import annotations

import pytest

from adapters.sources.hl7v2_text import split_messages, unescape
from adapters.sources.values import SourceProblem

from .conftest import assert_clean_quarantine, run, sample, value


def only(items):
    assert len(items) == 1, items
    assert items[0].problem is None, items[0].problem
    return items[0].document


def test_a04_gb18030_registration(hl7_options):
    document = only(run("hl7v2", sample("hl7v2", "adt_a04_registration_gb18030.hl7"), hl7_options))
    assert document.tag == "{urn:hie:doc:v1}PersonRegistration"
    ids = [(i.get("root"), i.get("extension")) for i in document.xpath("d:header/d:patient/d:id", namespaces={"d": "urn:hie:doc:v1"})]
    # PID-3 repetitions: 身份证 by type code NNCHN, 健康档案号 by assigning-authority OID, the
    # institution's PI number dropped (no root the hub knows).
    assert ids == [("2.16.156.10011.1.3", "330106197205180044"), ("2.16.156.10011.1.2", "330106001000777")]
    assert value(document, "d:header/d:patient/d:name") == "周晓梅"  # legal name (XPN-7 = L), not the alias
    assert value(document, "d:header/d:patient/d:sex", "code") == "2"
    # \XD2BB\ is 一 in GB 18030 bytes; \T\ is the sub-component separator '&'.
    assert value(document, "d:header/d:patient/d:address") == "浙江省杭州市西湖区示例路一号3幢&4幢"
    assert value(document, "d:header/d:patient/d:address", "division") == "330106"
    assert value(document, "d:body/d:occupation", "code") == "2"  # from the ZPI Z-segment, by option
    assert value(document, "d:body/d:maritalStatus", "code") == "20"  # HL7 M → GB/T 2261.2 20
    assert value(document, "d:body/d:contact/d:name") == "王建国"


def test_zsegment_ignored_without_option():
    document = only(run("hl7v2", sample("hl7v2", "adt_a04_registration_gb18030.hl7")))
    assert not document.xpath("//d:occupation", namespaces={"d": "urn:hie:doc:v1"})


def test_a03_outpatient_visit_mllp(hl7_options):
    items = run("hl7v2", sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7"), hl7_options)
    document = only(items)
    assert items[0].key == "VIS20261118-0042#OutpatientVisit"
    assert value(document, "d:header/d:id", "extension") == "OV-MZ20261118-0042"
    assert value(document, "d:body/d:visitTime", "value") == "2026-11-18T09:10:00+08:00"
    assert value(document, "d:body/d:department", "code") == "03.04"
    codes = [d.get("code") for d in document.xpath("d:body/d:diagnosis", namespaces={"d": "urn:hie:doc:v1"})]
    assert codes == ["I10", "E11.9"]  # the TCM diagnosis (GB/T 15657) is skipped
    assert value(document, "d:body/d:diagnosis[1]", "primary") == "true"
    assert value(document, "d:body/d:charges/d:charge[@category='drugs']", "amount") == "98.50"
    assert value(document, "d:body/d:charges/d:charge[@category='examinations']", "amount") == "40.00"


def test_a_his_own_document_id_and_revision_from_a_zsegment(hl7_options):
    # A HIS that numbers its documents itself (the synthetic region's clinics: region/channel_hl7.py)
    # says so in a Z-segment; the id is taken as it is, the version is its revision counter.
    payload = sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7").replace(b"\x1c", b"\rZDC|RC01-SYN-OV-7|1\x1c")
    options = {**hl7_options, "fields": {"document_id": "ZDC-1", "version": "ZDC-2"}}
    document = only(run("hl7v2", payload, options))
    assert value(document, "d:header/d:id", "extension") == "RC01-SYN-OV-7"
    assert value(document, "d:header/d:version") == "1"
    # without the option the Z-segment is ignored: PV1-19 and MSH-7 as before
    document = only(run("hl7v2", payload, hl7_options))
    assert value(document, "d:header/d:id", "extension") == "OV-MZ20261118-0042"
    assert int(value(document, "d:header/d:version")) > 1
    bad = run("hl7v2", payload.replace(b"ZDC|RC01-SYN-OV-7|1", b"ZDC|RC01-SYN-OV-7|v1"), options)
    assert_clean_quarantine(bad[0], "source.hl7.number.invalid")


def test_a03_inpatient_discharge(hl7_options):
    document = only(run("hl7v2", sample("hl7v2", "adt_a03_inpatient_discharge_lf.hl7"), hl7_options))
    assert document.tag == "{urn:hie:doc:v1}InpatientStay"
    assert value(document, "d:header/d:patient/d:id[1]", "extension") == "33010919550930013x"  # as typed: the hub reports it
    assert value(document, "d:body/d:dischargeTime", "value") == "2026-11-20T15:00:00+08:00"
    assert value(document, "d:body/d:bedDays") == "8"
    assert value(document, "d:body/d:ward") == "神经内科二病区"
    # Final diagnoses win over the admitting one; DG1-15 = 1 is the principal.
    assert [d.get("primary") for d in document.xpath("d:body/d:diagnosis", namespaces={"d": "urn:hie:doc:v1"})] == ["true", None]
    assert value(document, "d:body/d:procedure", "date") == "2026-11-13"
    assert value(document, "d:body/d:charges/d:charge", "category") == "other"  # PV1-47 total


def test_oru_two_orders_escapes_and_ranges():
    items = run("hl7v2", sample("hl7v2", "oru_r01_lab_results.hl7"))
    assert [i.key for i in items] == ["LAB20261122-0877#LabReport.1", "LAB20261122-0877#LabReport.2"]
    first = items[0].document
    assert len(first.xpath("d:body/d:result", namespaces={"d": "urn:hie:doc:v1"})) == 3  # the deleted OBX is skipped
    assert value(first, "d:body/d:result[2]/d:test", "displayName") == "糖化血红蛋白^HbA1c"  # \S\
    assert value(first, "d:body/d:result[2]/d:referenceRange", "low") == "4.0"  # 4.0\R\6.0
    assert value(first, "d:body/d:result[3]/d:referenceRange", "high") == "5.2"  # <5.2
    assert value(first, "d:body/d:specimen", "code") == "BLD"
    assert value(first, "d:body/d:reportTime", "value") == "2026-11-22T11:00:00+08:00"
    assert value(items[1].document, "d:body/d:result/d:value") == "阴性"


def test_prescription_and_dispense_link(hl7_options):
    prescription = only(run("hl7v2", sample("hl7v2", "rde_o11_prescription.hl7"), hl7_options))
    dispense = only(run("hl7v2", sample("hl7v2", "rds_o13_dispense.hl7"), hl7_options))
    assert [d.get("code") for d in prescription.xpath("//d:drug", namespaces={"d": "urn:hie:doc:v1"})] == ["YP0012", "YP0019"]
    assert value(prescription, "d:body/d:item[2]/d:quantity") == "2"
    assert value(dispense, "d:body/d:prescriptionRef", "extension") == value(prescription, "d:header/d:id", "extension")
    assert value(dispense, "d:body/d:item[1]/d:batchNumber") == "AML2605117"


def test_batch_file_updates_replace_the_registration():
    items = run("hl7v2", sample("hl7v2", "batch_adt_a08_a28.hl7"))
    assert [i.key for i in items] == ["UPD20261123-0001#PersonRegistration", "UPD20261123-0002#PersonRegistration"]
    update = items[0].document
    first = only(run("hl7v2", sample("hl7v2", "adt_a04_registration_gb18030.hl7")))
    # Same person → same document id, later message → higher version.
    assert value(update, "d:header/d:id", "extension") == value(first, "d:header/d:id", "extension")
    assert int(value(update, "d:header/d:version")) > int(value(first, "d:header/d:version"))
    assert "330106197205180044" not in value(update, "d:header/d:id", "extension")


def test_keys_are_stable_and_distinct():
    payload = b"\n".join(sample("hl7v2", n) for n in ("oru_r01_lab_results.hl7", "rde_o11_prescription.hl7",
                                                      "batch_adt_a08_a28.hl7"))
    keys = [i.key for i in run("hl7v2", payload)]
    assert keys == [i.key for i in run("hl7v2", payload)]
    assert len(keys) == len(set(keys)) == 5


@pytest.mark.parametrize("name, code, field", [
    ("bad_missing_pid.hl7", "source.hl7.segment.missing", "PID"),
    ("bad_unsupported_message_type.hl7", "source.hl7.message.unsupported", "MSH-9"),
    ("bad_undecodable_bytes.hl7", "source.hl7.encoding.invalid", "MSH-18"),
    ("bad_unknown_charset.hl7", "source.hl7.encoding.unknown", "MSH-18"),
    ("bad_birth_date.hl7", "source.hl7.datetime.invalid", "PID-7"),
    ("bad_unknown_department.hl7", "record.code.unknown", "/OutpatientVisit/body/department/@code"),
])
def test_bad_inputs_are_quarantined_without_patient_data(name, code, field):
    items = run("hl7v2", sample("hl7v2", name))
    assert len(items) == 1
    assert_clean_quarantine(items[0], code)
    assert items[0].problem.field == field


def test_a_bad_message_does_not_stop_the_rest():
    payload = sample("hl7v2", "bad_undecodable_bytes.hl7") + sample("hl7v2", "oru_r01_lab_results.hl7")
    items = run("hl7v2", payload)
    assert [i.problem is None for i in items] == [False, True, True]


def test_missing_charges_quarantine_or_zero(hl7_options):
    text = sample("hl7v2", "adt_a03_outpatient_visit_mllp.hl7").replace(b"FT1|", b"NTE|")
    assert_clean_quarantine(run("hl7v2", text, hl7_options)[0], "source.hl7.charges.missing")
    document = only(run("hl7v2", text, {**hl7_options, "missing_charges": "zero"}))
    assert value(document, "d:body/d:charges/d:charge", "amount") == "0.00"


def test_a01_gives_no_inpatient_stay():
    text = sample("hl7v2", "adt_a03_inpatient_discharge_lf.hl7").replace(b"ADT^A03", b"ADT^A01")
    assert [i.key.split("#")[1] for i in run("hl7v2", text)] == ["PersonRegistration"]


def test_duplicate_control_id_with_other_content():
    message = sample("hl7v2", "oru_r01_lab_results.hl7")
    items = run("hl7v2", message + message.replace(b"|6.8|", b"|7.1|"))
    assert [i.problem.code for i in items if i.problem] == ["source.hl7.control_id.duplicate"]
    assert len(items) == 3
    assert len(run("hl7v2", message + message)) == 2  # an identical repeat is the same message


def test_unescape_rules():
    kwargs = {"encoding_characters": "^~\\&", "field_separator": "|", "codec": "utf-8", "field": "X-1"}
    assert unescape(r"a\F\b\S\c\T\d\R\e\E\f", **kwargs) == "a|b^c&d~e\\f"
    assert unescape(r"\XE4BDA0\好", **kwargs) == "你好"
    assert unescape(r"\H\bold\N\ end\.br\x", **kwargs) == "bold end\nx"
    with pytest.raises(SourceProblem) as raised:
        unescape(r"\XFF\ ", **kwargs)
    assert raised.value.code == "source.hl7.escape.invalid"


def test_split_messages_tolerates_framing_and_separators():
    one = b"MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.4\rPID|1"
    two = b"MSH|^~\\&|A|B|C|D|20260101||ADT^A08|2|P|2.4\r\nPID|1\n"
    messages = split_messages(b"\x0b" + one + b"\x1c\r" + two)
    assert [m.data.count(b"\r") for m in messages] == [1, 1]
