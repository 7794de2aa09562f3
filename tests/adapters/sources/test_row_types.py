"""Row maps of the other document types members export as rows: immunizations, referrals, infectious
disease cards, maternal and child checkups, drug receipts and monthly statistics.

Each sample (adapters/samples/csv/, see its README) holds good rows and one bad row: the good
ones become valid documents with their values in place, the bad one is quarantined with its exact
code and nothing of the row in the message or field.
"""
from __future__ import annotations

import pytest

from protocol.errors import RecordError
from schemas.validation import validate

from .conftest import NS, assert_clean_quarantine, run, sample, value

SEX = {"column": "性别", "codes": {"男": "1", "女": "2"}}

IMMUNIZATIONS = {"document": "Immunization", "key": "接种记录ID", "fields": {
    "effective_time": "记录时间", "version": "记录时间", "patient.resident_id": "身份证号",
    "patient.health_record_no": "受种者编码", "patient.name": "姓名", "patient.sex": SEX,
    "patient.birth_date": "出生日期", "patient.telecom": "联系电话",
    "vaccine": {"column": "疫苗编码", "codes": {"0301": "MMR", "1801": "EV71"}}, "doseNumber": "剂次",
    "administeredOn": "接种日期", "batchNumber": "疫苗批号", "manufacturer": "生产企业",
    "site": {"column": "接种部位", "codes": {"左上臂": "1", "右上臂": "2"}},
    "practitioner.code": "接种医生编码", "practitioner.name": "接种医生"}}
REFERRALS = {"document": "Referral", "key": "转诊单号", "encoding": "gb18030", "fields": {
    "effective_time": "更新时间", "patient.resident_id": "身份证号", "patient.name": "姓名", "patient.sex": SEX,
    "patient.birth_date": "出生日期", "direction": {"column": "转诊类型", "codes": {"上转": "up", "下转": "down"}},
    "referralTime": "转诊时间", "toInstitution.code": "接收机构代码", "toInstitution.name": "接收机构名称",
    "requestedDepartment": {"column": "转入科室", "codes": {"XNK": "03.04"}}, "reason": "转诊原因",
    "diagnosis.code": {"column": "诊断编码", "split": ";"}, "diagnosis.display": {"column": "诊断名称", "split": ";"},
    "summary": "病情摘要", "practitioner.code": "医生工号", "practitioner.name": "医生姓名"}}
DISEASE_CARDS = {"document": "InfectiousDiseaseReport", "key": "卡片编号", "fields": {
    "effective_time": "填卡时间", "patient.resident_id": "身份证号", "patient.name": "患者姓名", "patient.sex": SEX,
    "patient.birth_date": "出生日期", "patient.telecom": "联系电话",
    "disease": {"column": "疾病名称", "codes": {"手足口病": "311", "流行性感冒": "301"}},
    "caseClassification": {"column": "病例分类", "codes": {"疑似病例": "1", "临床诊断病例": "2", "确诊病例": "3"}},
    "onsetDate": "发病日期", "diagnosisDate": "诊断日期",
    "occupation": {"column": "人群分类", "codes": {"散居儿童": "8", "家务及待业": "8"}},
    "currentAddress": "现住址", "currentAddress.division": "现住址国标",
    "reportingDoctor.code": "报告医生编码", "reportingDoctor.name": "报告医生"}}
MATERNAL = {"document": "MaternalCheckup", "key": "检查记录号", "fields": {
    "effective_time": "修改时间", "version": "修改时间", "patient.resident_id": "身份证号",
    "patient.health_record_no": "孕产妇保健手册号", "patient.name": "姓名", "patient.sex": {"constant": "2"},
    "patient.birth_date": "出生日期", "checkupType": {"column": "检查类别", "codes": {"产前检查": "antenatal",
                                                                                  "产后访视": "postnatal"}},
    "checkupDate": "检查日期", "gestationalWeeks": "孕周", "weightKg": "体重kg",
    "bloodPressure.systolic": "收缩压", "bloodPressure.diastolic": "舒张压", "fundalHeightCm": "宫底高度cm",
    "fetalHeartRate": "胎心率", "highRisk": "高危标志", "note": "处理意见",
    "practitioner.code": "检查医生编码", "practitioner.name": "检查医生"}}
CHILD = {"document": "ChildHealthCheckup", "key": "体检编号", "fields": {
    "effective_time": "更新时间", "patient.resident_id": "身份证号", "patient.health_record_no": "儿童保健编号",
    "patient.name": "儿童姓名", "patient.sex": SEX, "patient.birth_date": "出生日期", "checkupDate": "体检日期",
    "ageMonths": "月龄", "weightKg": "体重(kg)", "heightCm": "身长(cm)", "headCircumferenceCm": "头围(cm)",
    "developmentAssessment": {"column": "发育评估", "codes": {"未见异常": "1", "可疑": "2", "异常": "3"}},
    "note": "指导意见", "practitioner.code": "体检医生编码", "practitioner.name": "体检医生"}}
RECEIPTS = {"document": "DrugMovement", "key": "入库单号", "encoding": "gb18030", "id_prefix": "DM-", "fields": {
    "effective_time": "制单时间", "movementType": {"constant": "receipt"}, "movementTime": "入库时间",
    "from.code": "供货单位编码", "from.name": "供货单位名称", "from.kind": {"constant": "distributor"},
    "to.code": {"constant": "CLINIC01"}, "to.name": {"constant": "示例社区卫生服务中心"},
    "to.kind": {"constant": "institution"},
    "item.drug": {"column": "药品编码", "codes": {"Y0012": "YP0012", "Y0019": "YP0019"}},
    "item.drug.display": "药品名称", "item.specification": "规格", "item.batchNumber": "批号",
    "item.expiryDate": "有效期至", "item.quantity": "数量", "item.unit": "单位", "item.amount": "金额",
    "practitioner.code": "经办人工号", "practitioner.name": "经办人"}}
MONTHLY = {"document": "InstitutionMonthlyStats", "key": "统计月份", "id_prefix": "STAT-", "fields": {
    "effective_time": "上报时间", "period": "统计月份", "staffOnDuty": "在岗职工数", "approvedBeds": "编制床位",
    "openBeds": "实际开放床位", "fixedAssets": "固定资产(元)", "outpatientVisits": "门急诊人次",
    "inpatientDischarges": "出院人数", "revenue.drugs": "药品收入", "revenue.examinations": "检查收入",
    "revenue.treatment": "治疗收入", "revenue.other": "其他收入"}}


def mapped(name: str, options: dict) -> dict:
    """Items of a sample by row key (without the version suffix); every document passes the hub's validator."""
    items = run("csv", sample("csv", name), options)
    for item in items:
        if item.document is not None:
            validate(item.document)  # what finish() checked; again here so a builder change cannot skip it
    return {item.key.split("@")[0]: item for item in items}


def test_immunizations():
    items = mapped("eps_immunizations_utf8.csv", IMMUNIZATIONS)
    mmr, ev71 = items["JZ202611150001"].document, items["JZ202611150002"].document
    assert value(mmr, "d:header/d:patient/d:id[1]", "extension") == "330106202405100145"
    assert value(mmr, "d:header/d:patient/d:id[2]", "root") == "2.16.156.10011.1.2"
    assert value(mmr, "d:body/d:vaccine", "code") == "MMR"
    assert value(mmr, "d:body/d:doseNumber") == "1"
    assert value(mmr, "d:body/d:administeredOn", "value") == "2026-11-15"
    assert value(mmr, "d:body/d:batchNumber") == "MMR202604B018"
    assert value(mmr, "d:body/d:site", "code") == "1"
    assert value(mmr, "d:header/d:author/d:practitioner", "code") == "N0031"
    assert (value(ev71, "d:body/d:vaccine", "code"), value(ev71, "d:body/d:doseNumber")) == ("EV71", "2")
    assert_clean_quarantine(items["JZ202611150003"], "source.csv.date.invalid")  # 2026-02-30
    assert items["JZ202611150003"].problem.field == "column 接种日期"


def test_referrals():
    items = mapped("his_referrals_gb18030.csv", REFERRALS)
    up = items["ZZ2026112201"].document
    assert value(up, "d:body/d:direction", "code") == "up"
    assert value(up, "d:body/d:referralTime", "value") == "2026-11-22T10:05:00+08:00"
    assert (value(up, "d:body/d:toInstitution", "code"), value(up, "d:body/d:toInstitution", "name")) \
        == ("HOSP01", "示例区人民医院")
    assert value(up, "d:body/d:requestedDepartment", "code") == "03.04"
    assert value(up, "d:body/d:reason") == "血压控制不佳，联合用药后仍波动明显"
    assert [d.get("code") for d in up.xpath("d:body/d:diagnosis", namespaces=NS)] == ["I10", "E11.9"]
    assert value(up, "d:body/d:diagnosis[1]", "primary") == "true"
    assert value(up, "d:body/d:summary").startswith("高血压病史8年")
    # 平转 is neither up nor down: the hub's schema refuses it, on the element, without the value.
    assert_clean_quarantine(items["ZZ2026112202"], "record.schema.invalid")
    assert items["ZZ2026112202"].problem.field == "/Referral/body/direction"


def test_infectious_disease_cards():
    items = mapped("infectious_disease_cards_utf8.csv", DISEASE_CARDS)
    card = items["CRB2026112101"].document
    assert value(card, "d:body/d:disease", "code") == "311"
    assert value(card, "d:body/d:diseaseClass", "code") == "C"  # not in the export: the class of 311 in the list
    assert value(card, "d:body/d:caseClassification", "code") == "2"
    assert value(card, "d:body/d:onsetDate", "value") == "2026-11-19"
    assert value(card, "d:body/d:diagnosisDate", "value") == "2026-11-21"
    assert value(card, "d:body/d:currentAddress", "division") == "330113"
    assert value(card, "d:body/d:currentAddress").startswith("浙江省杭州市临平区")
    assert value(card, "d:body/d:reportingDoctor", "code") == "D0210"
    # A disease name with no hub code: the class cannot be looked up; the hub's code, on the disease.
    assert_clean_quarantine(items["CRB2026112102"], "record.code.unknown")
    assert items["CRB2026112102"].problem.field == "/InfectiousDiseaseReport/body/disease/@code"


def test_infectious_disease_class_given_by_the_export_is_sent_as_given_for_the_hub_to_check():
    """311 is class C in the agent's list, the export says B: a class can change by law before the agent's
    list does, so the hub, whose lists are the authority (docs/code-lists.md), checks it, not the agent."""
    options = {**DISEASE_CARDS, "fields": {**DISEASE_CARDS["fields"], "diseaseClass": {"constant": "B"}}}
    items = {item.key.split("@")[0]: item for item in run("csv", sample("csv", "infectious_disease_cards_utf8.csv"),
                                                            options)}
    assert items["CRB2026112101"].problem is None, items["CRB2026112101"].problem
    assert value(items["CRB2026112101"].document, "d:body/d:diseaseClass", "code") == "B"
    with pytest.raises(RecordError) as refused:  # what the hub says with its lists
        validate(items["CRB2026112101"].document)
    assert (refused.value.code, refused.value.field) == ("record.code.unknown",
                                                         "/InfectiousDiseaseReport/body/diseaseClass/@code")


def test_maternal_checkups():
    items = mapped("maternal_checkups_utf8.csv", MATERNAL)
    checkup = items["YJ2026112101"].document
    assert value(checkup, "d:body/d:checkupType", "code") == "antenatal"
    assert value(checkup, "d:body/d:checkupDate", "value") == "2026-11-21"
    assert value(checkup, "d:body/d:gestationalWeeks") == "28"
    assert value(checkup, "d:body/d:weightKg") == "63.5"
    assert (value(checkup, "d:body/d:bloodPressure", "systolic"),
            value(checkup, "d:body/d:bloodPressure", "diastolic")) == ("118", "76")
    assert value(checkup, "d:body/d:fundalHeightCm") == "27"
    assert value(checkup, "d:body/d:fetalHeartRate") == "142"
    assert value(checkup, "d:body/d:highRisk") == "false"  # 否
    assert value(checkup, "d:header/d:patient/d:sex", "code") == "2"  # a constant
    assert_clean_quarantine(items["YJ2026112102"], "source.csv.boolean.invalid")  # 高危标志 待定
    assert items["YJ2026112102"].problem.field == "column 高危标志"


def test_child_checkups():
    items = mapped("child_checkups_utf8.csv", CHILD)
    checkup = items["ET2026111501"].document
    assert value(checkup, "d:body/d:checkupDate", "value") == "2026-11-15"
    assert value(checkup, "d:body/d:ageMonths") == "25"
    assert value(checkup, "d:body/d:weightKg") == "13.6"
    assert value(checkup, "d:body/d:heightCm") == "94.2"
    assert value(checkup, "d:body/d:headCircumferenceCm") == "48.5"
    assert value(checkup, "d:body/d:developmentAssessment", "code") == "1"
    assert value(checkup, "d:body/d:note") == "生长发育良好，建议均衡膳食。"
    assert_clean_quarantine(items["ET2026111502"], "source.csv.number.invalid")  # 体重 13.6kg
    assert items["ET2026111502"].problem.field == "column 体重(kg)"


def test_drug_receipts_group_lines_and_have_no_patient():
    items = mapped("pharmacy_receipts_gb18030.csv", RECEIPTS)
    receipt = items["RK20261118001"].document
    assert value(receipt, "d:header/d:id", "extension") == "DM-RK20261118001"
    assert receipt.xpath("d:header/d:patient", namespaces=NS) == []
    assert value(receipt, "d:body/d:movementType", "code") == "receipt"
    assert value(receipt, "d:body/d:movementTime", "value") == "2026-11-18T13:30:00+08:00"
    assert [(p.get("code"), p.get("kind")) for p in receipt.xpath("d:body/d:from | d:body/d:to", namespaces=NS)] \
        == [("SUP0007", "distributor"), ("CLINIC01", "institution")]
    lines = receipt.xpath("d:body/d:item", namespaces=NS)
    assert [line.xpath("string(d:drug/@code)", namespaces=NS) for line in lines] == ["YP0012", "YP0019"]
    assert [child.tag.split("}")[1] for child in lines[0]] == [
        "drug", "specification", "batchNumber", "expiryDate", "quantity", "unit", "amount"]
    assert value(receipt, "d:body/d:item[2]/d:expiryDate", "value") == "2028-06-30"
    assert value(receipt, "d:body/d:item[2]/d:amount") == "7230.00"
    # A line without a batch number: traceability requires it, so the hub's schema refuses it.
    assert_clean_quarantine(items["RK20261118002"], "record.schema.invalid")
    assert items["RK20261118002"].problem.field.startswith("/DrugMovement/body/item")


def test_institution_documents_take_no_patient_fields():
    with pytest.raises(ValueError):
        run("csv", sample("csv", "monthly_stats_utf8.csv"),
            {**MONTHLY, "fields": {**MONTHLY["fields"], "patient.name": "在岗职工数"}})


def test_monthly_statistics():
    items = mapped("monthly_stats_utf8.csv", MONTHLY)
    october = items["2026-10"].document
    assert value(october, "d:header/d:id", "extension") == "STAT-2026-10"
    assert october.xpath("d:header/d:patient", namespaces=NS) == []
    assert value(october, "d:body/d:period", "value") == "2026-10"
    assert [value(october, f"d:body/d:{name}") for name in
            ("staffOnDuty", "approvedBeds", "openBeds", "fixedAssets", "outpatientVisits", "inpatientDischarges")] \
        == ["86", "40", "32", "12650000.00", "15320", "58"]
    assert [(r.get("category"), r.get("amount")) for r in october.xpath("d:body/d:revenue", namespaces=NS)] == [
        ("drugs", "1286400.50"), ("examinations", "402300.00"), ("treatment", "356780.20"), ("other", "48210.00")]
    assert items["2026-09"].problem is None
    assert_clean_quarantine(items["2026-13"], "source.csv.date.invalid")
    assert items["2026-13"].problem.field == "column 统计月份"


@pytest.mark.parametrize("raw, code", [("28.5", "source.csv.number.invalid"), ("46", "record.schema.invalid")])
def test_counts_are_whole_numbers_within_the_schema(raw, code):
    text = sample("csv", "maternal_checkups_utf8.csv").decode().replace(",28,63.50,", f",{raw},63.50,")
    items = {i.key.split("@")[0]: i for i in run("csv", text.encode(), MATERNAL)}
    assert_clean_quarantine(items["YJ2026112101"], code)
