"""What the hub found wrong in a document it kept: the registry of warning codes (issue: data quality).

A rejection is a ``HubError`` with a code of the fault table (``protocol.errors.FAULTS``): nothing is
stored. A *finding* is the other severity: the document is stored and its facts counted, and the
finding is kept beside it, counted in its institution's data-quality figures and sent back to the
sender in the processing acknowledgement (code and field, never a value) so that the sender can
correct the record and send a new version. ``docs/data-quality.md`` documents the same table (a test
keeps the two in step); the message is fixed text, in English and Chinese, never built from input.

    Finding("record.patient.birth_date.implausible", "/OutpatientVisit/header/patient/birthDate")
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class FindingSpec:
    """A warning code: which quality dimension it counts against, and its fixed human messages."""

    code: str
    dimension: str  # completeness | validity | consistency | linkage (the data-quality figures' columns)
    message: str
    message_zh: str


_SPECS = [
    FindingSpec("record.patient.birth_date.implausible", "validity",
                "the patient's birth date is in the future or more than 120 years before the document",
                "患者出生日期晚于文档时间或早于文档时间120年以上"),
    # codes the hub does not know yet (schemas/terminology/forms.py, docs/code-lists.md)
    FindingSpec("record.code.unverified", "validity",
                "the code is well-formed but not in the hub's code list, which holds only part of the national list",
                "编码格式正确但不在平台编码表中（平台编码表仅为国家标准的一部分），未能核实"),
    # plausibility rules (hub/records/quality.py): time inversions, ages, places
    FindingSpec("record.event.before_birth", "consistency",
                "an event of the document (visit, report, dose, checkup, procedure) is dated before the patient's birth",
                "文档记录的事件（就诊、报告、接种、检查、手术）日期早于患者出生日期"),
    FindingSpec("record.procedure.outside_stay", "consistency",
                "a procedure of the stay is dated before its admission or after its discharge",
                "手术/操作日期早于入院或晚于出院"),
    FindingSpec("record.disease.onset_after_diagnosis", "consistency",
                "the onset date of the reported disease is after its diagnosis date",
                "传染病发病日期晚于诊断日期"),
    FindingSpec("record.maternal.age.inconsistent", "consistency",
                "a maternal checkup of a patient younger than 10 or older than 60",
                "孕产妇检查的患者年龄小于10岁或大于60岁"),
    FindingSpec("record.child_checkup.age.inconsistent", "consistency",
                "a child health checkup of a child aged 7 or more (the programme covers children under 7)",
                "儿童健康检查的儿童年龄已满7岁（0-6岁儿童健康管理）"),
    FindingSpec("record.immunization.age.inconsistent", "consistency",
                "a national-programme vaccine given to a patient aged 18 or more (the programme covers under 18)",
                "国家免疫规划疫苗的受种者已满18岁"),
    FindingSpec("record.patient.division.unknown", "validity",
                "the division code of the patient's address is not in the hub's GB/T 2260 division list",
                "患者地址的行政区划代码不在平台的 GB/T 2260 区划代码表中"),
    # identity without data loss (issue 23): hub/records/store.py, hub/mpi
    FindingSpec("record.patient.id.invalid", "validity",
                "the resident ID fails its check character or birth date, or is malformed: kept as invalid, "
                "never linked on",
                "居民身份证号校验位、出生日期或格式错误：作为无效标识保留，不用于确定性关联"),
    FindingSpec("record.patient.id.conflict", "consistency",
                "two different valid resident IDs: both kept, neither trusted; the patient is matched on the rest",
                "同一患者含两个不同的有效居民身份证号：均保留但不采信，按其他信息匹配患者"),
    FindingSpec("record.patient.id.normalized", "validity",
                "the identifier was typed with full-width characters, spaces, separators or a lower-case check x: "
                "normalized",
                "标识号含全角字符、空格、分隔符或小写校验位x，已规范化"),
    FindingSpec("record.patient.telecom.normalized", "validity",
                "the phone number was typed with full-width characters or spaces: normalized",
                "电话号码含全角字符或空格，已规范化"),
    FindingSpec("record.code.normalized", "validity",
                "the code was typed with full-width characters: normalized",
                "编码含全角字符，已规范化"),
    # an event after its message arrived (hub/records/quality.py; EVENT_TIME_TOLERANCE below)
    FindingSpec("record.event.in_future", "validity",
                "an event of the document (visit, report, dose, checkup, procedure) is dated after the hub received it",
                "文档记录的事件（就诊、报告、接种、检查、手术）时间晚于平台接收时间"),
    FindingSpec("record.patient.id.blank", "validity",
                "an identifier held only spaces: left out, the patient's other traits identify them",
                "标识号仅含空格：已忽略，由患者其他信息识别"),
    FindingSpec("record.patient.birth_date.normalized", "validity",
                "the birth date was typed another unambiguous way (19800101, 1980/01/01, with a time, full-width): "
                "normalized",
                "出生日期以其他明确格式书写（19800101、1980/01/01、带时间、全角字符）：已规范化"),
    FindingSpec("record.patient.birth_date.invalid", "validity",
                "the birth date is not a real date: left out, the document is kept",
                "出生日期不是有效日期：已忽略，文档保留"),
    FindingSpec("record.patient.sex.normalized", "validity",
                "the sex was coded outside GB/T 2261.1 (M/F, 男/女): mapped to its GB/T 2261.1 code",
                "性别未按 GB/T 2261.1 编码（M/F、男/女）：已映射为标准代码"),
    FindingSpec("record.patient.sex.invalid", "validity",
                "the sex code is neither GB/T 2261.1 nor an unambiguous spelling: left out, the document is kept",
                "性别代码既非 GB/T 2261.1 也无法明确映射：已忽略，文档保留"),
    FindingSpec("record.patient.division.invalid", "validity",
                "the division of the patient's address is not six digits: left out, the address text is kept",
                "患者地址的行政区划代码不是6位数字：已忽略，地址文字保留"),
    FindingSpec("record.patient.telecom.extension", "validity",
                "the phone number carries an extension (转801): the number is kept, the extension left out",
                "电话号码带分机号（转801）：保留号码，分机号已忽略"),
    FindingSpec("record.patient.telecom.invalid", "validity",
                "the phone number is not a phone number: left out, the document is kept",
                "电话号码格式无效：已忽略，文档保留"),
    # the infectious-disease report card beyond its XSD (hub/records/quality.py, issue 21)
    FindingSpec("record.disease.card.incomplete", "completeness",
                "a field the national report card needs for the disease's class is missing",
                "传染病报告卡缺少该病种类别要求填写的项目"),
    FindingSpec("record.disease.report_before_diagnosis", "consistency",
                "the report card was filled in on a day before the diagnosis it reports",
                "传染病报告卡填卡日期早于诊断日期"),
    FindingSpec("record.disease.division.not_district", "validity",
                "the current address names a city or province, not a county-level district",
                "现住址行政区划不是区县级代码（为市级或省级）"),
]

FINDINGS: dict[str, FindingSpec] = {spec.code: spec for spec in _SPECS}
DIMENSIONS = ("completeness", "validity", "consistency", "linkage")
# An event dated more than this after its message arrived is in the future (record.event.in_future);
# within it, a clinic clock running a little fast: the ETL counts such a lateness as 0 (on time).
EVENT_TIME_TOLERANCE = timedelta(hours=1)


@dataclass(frozen=True)
class Finding:
    """One thing found wrong in a kept document: a registered code and the field's path (no value)."""

    code: str
    field: str = ""

    def __post_init__(self):
        if self.code not in FINDINGS:
            raise ValueError(f"unregistered finding code {self.code!r}")

    @property
    def spec(self) -> FindingSpec:
        return FINDINGS[self.code]


__all__ = ["DIMENSIONS", "FINDINGS", "Finding", "FindingSpec", "EVENT_TIME_TOLERANCE"]
