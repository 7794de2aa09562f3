"""Data-quality cubes: the figures a regional platform is assessed on, per institution and month
(``docs/data-quality.md``, "Figures"; ``docs/cubes.md``).

``data_quality`` reads one row per stored document (``fact_document_quality``): completeness (resident
ID present and valid, visits with a coded primary diagnosis, visits with charges), timeliness (hours
from the event to its arrival: median, share within 24 h / 72 h), consistency (visits counted from the
documents against the institution's monthly statistics, ``institution_month.reported_visits``) and
linkage (documents linked to a person with a valid resident ID). Validity comes from two more cubes,
drilled across: findings by code and dimension (``data_quality_findings``) per 1,000 documents, and
rejections by code (``data_quality_rejections``) per 1,000 messages (``data_quality_messages``).

Small cells: a document is one patient's, so a count of documents is person-level, as in the other
cubes: a cell whose documents, patient documents or visits (a rate's denominator) or whose count of
documents meeting a condition (a rate's numerator: valid resident ID, on time, …) is 1-4 is withheld
with every figure of it, the way the other cubes withhold (``olap/cubes/suppress.py``). A finding or
a rejection is not a person's fact but a defect of the record keeping (a code and a field path, sent
back to the sender anyway): finding and rejection counts are published whatever their size, so that an
institution sees each of its defects; a rate over them is withheld with its denominator (documents,
messages).
"""
from __future__ import annotations

from .conformed import INSTITUTION_JOIN, INSTITUTION_KIND, INSTITUTION_SCOPE, date_dimension, institution_dimension
from .model import Cube, Dimension, Indicator, Level, Measure, MeasureKind

WITHIN_HOURS = (24, 72)
DOCUMENT = Dimension("document", (Level("type", "document_type", title="文档类型"),), title="文档")
_MONTHLY = (date_dimension(), institution_dimension(), INSTITUTION_KIND)


def _rate(name: str, numerator: str, denominator: str, title: str, definition: str) -> Indicator:
    return Indicator(name, numerator, denominator, 100.0, "%", title, definition)


DATA_QUALITY = Cube(
    name="data_quality", title="数据质量", fact="fact_document_quality",
    dimensions=(*_MONTHLY, DOCUMENT),
    joins={"institution": INSTITUTION_JOIN},
    measures=(
        Measure("documents", "count()", MeasureKind.COUNT, "份", "stored documents (date = effective date)"),
        Measure("patient_documents", "sum(has_patient)", MeasureKind.SUM, "份", "documents naming a patient",
                privacy="patient_documents"),
        Measure("resident_id_present", "sum(resident_id_present)", MeasureKind.SUM, "份",
                "documents whose patient's resident ID was sent", privacy="resident_id_present"),
        Measure("resident_id_valid", "sum(resident_id_valid)", MeasureKind.SUM, "份",
                "documents whose patient's resident ID is present and valid", privacy="resident_id_valid"),
        Measure("linked_valid", "sum(linked_valid)", MeasureKind.SUM, "份",
                "documents linked to a person holding a valid resident ID", privacy="linked_valid"),
        Measure("visits", "sum(visits)", MeasureKind.SUM, "人次", "outpatient and emergency visits counted "
                "from the documents", privacy="visits"),
        Measure("coded_visits", "sum(coded_visits)", MeasureKind.SUM, "人次", "visits with a coded primary diagnosis",
                privacy="coded_visits"),
        Measure("charged_visits", "sum(charged_visits)", MeasureKind.SUM, "人次", "visits with charges",
                privacy="charged_visits"),
        Measure("document_findings", "sum(findings)", MeasureKind.SUM, "条", "findings of the documents"),
        # A negative lateness is an effective time after the arrival (a wrong date, record.event.in_future;
        # a clock a little fast was loaded as 0): never on time, and not a lateness the median can use.
        *(Measure(f"within_{hours}h", f"countIf(lateness_hours >= 0 AND lateness_hours <= {hours})",
                  MeasureKind.COUNT, "份", f"documents that arrived within {hours} h of their effective time "
                  "(not before it)", privacy=f"within_{hours}h")
          for hours in WITHIN_HOURS),
        Measure("median_lateness_hours", "quantileExactIf(0.5)(lateness_hours, lateness_hours >= 0)",
                MeasureKind.QUANTILE, "小时", "median hours from the effective time to the arrival (documents "
                "dated after their arrival left out)"),
    ),
    indicators=(
        _rate("resident_id_rate", "resident_id_valid", "patient_documents", "身份证号完整有效率",
              "documents with the patient's resident ID present and valid / documents naming a patient"),
        _rate("coded_diagnosis_rate", "coded_visits", "visits", "诊断编码率",
              "visits with a coded primary diagnosis / visits counted from the documents"),
        _rate("charges_rate", "charged_visits", "visits", "费用完整率", "visits with charges / visits"),
        Indicator("findings_per_1000", "document_findings", "documents", 1000.0, "条/千份", "每千份文档问题数",
                  "findings / documents × 1,000"),
        *(_rate(f"within_{hours}h_rate", f"within_{hours}h", "documents", f"{hours}小时及时率",
                f"documents that arrived within {hours} h of their effective time / documents")
          for hours in WITHIN_HOURS),
        Indicator("visits_vs_reported", "visits", "institution_month.reported_visits", 100.0, "%",
                  "就诊人次一致率", "visits counted from the documents / visits reported in the monthly statistics"),
        _rate("linkage_rate", "linked_valid", "patient_documents", "主索引关联率",
              "documents linked to a person with a valid resident ID / documents naming a patient"),
        Indicator("rejections_per_1000", "data_quality_rejections.rejections", "data_quality_messages.messages",
                  1000.0, "条/千条", "每千条消息拒收数", "rejected messages / messages received × 1,000"),
    ),
    privacy_measure="documents", scope=INSTITUTION_SCOPE,
    constant_over=frozenset({"finding", "rejection"}),  # the denominator of each code's rate
)

FINDING = Dimension("finding", (Level("dimension", "dimension", title="质量维度"),
                                Level("code", "code", title="问题代码")), title="数据质量问题")

FINDINGS = Cube(
    name="data_quality_findings", title="数据质量问题", fact="fact_finding",
    dimensions=(*_MONTHLY, DOCUMENT, FINDING),
    joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("findings", "count()", MeasureKind.COUNT, "条", "findings (date = the document's date)"),
              Measure("documents_with_findings", "uniqExact(document_row_id)", MeasureKind.DISTINCT, "份",
                      "documents with at least one such finding")),
    indicators=(Indicator("per_1000_documents", "findings", "data_quality.documents", 1000.0, "条/千份",
                          "每千份文档问题数", "findings / documents of the cell (any finding or none) × 1,000"),),
    scope=INSTITUTION_SCOPE,
)

MESSAGES = Cube(
    name="data_quality_messages", title="接收消息", fact="fact_exchange_message",
    dimensions=_MONTHLY, joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("messages", "count()", MeasureKind.COUNT, "条", "messages received (date = received date)"),),
    privacy_measure="messages", scope=INSTITUTION_SCOPE,
    constant_over=frozenset({"rejection"}),
)

REJECTION = Dimension("rejection", (Level("code", "error_code", title="拒收代码"),), title="拒收原因")

REJECTIONS = Cube(
    name="data_quality_rejections", title="拒收", fact="fact_exchange_message", condition="is_rejected = 1",
    dimensions=(*_MONTHLY, REJECTION), joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("rejections", "count()", MeasureKind.COUNT, "条", "messages rejected"),),
    indicators=(Indicator("per_1000_messages", "rejections", "data_quality_messages.messages", 1000.0, "条/千条",
                          "每千条消息拒收数", "rejected messages / messages received × 1,000"),),
    scope=INSTITUTION_SCOPE,
)

QUALITY_CUBES = (DATA_QUALITY, FINDINGS, MESSAGES, REJECTIONS)

__all__ = ["DATA_QUALITY", "FINDINGS", "MESSAGES", "REJECTIONS", "QUALITY_CUBES", "WITHIN_HOURS"]
