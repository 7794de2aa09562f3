"""Mart schema version 1: the first star schema (dimensions, facts, one example rollup).

Conventions (``docs/olap.md`` has the table-by-table reference):

- Every row has ``version UInt64`` (the highest wins) and ``deleted UInt8`` (1 = retracted).
- A fact row's identity is ``(institution_code, date, fact_key)``; ``fact_key`` is
  ``<OLTP table>:<OLTP row id>`` and the row carries ``source_id`` (that id), ``document_id``
  (``record_document.id``) and ``message_id`` (``inbox_message.id``, the signed message): lineage.
  A new version that changes ``institution_code`` or ``date`` must also write a ``deleted = 1`` row
  at the old identity, because ReplacingMergeTree only collapses rows with equal ``ORDER BY`` tuples
  inside one partition.
- Money is ``Int64`` in fen (分): exact sums on every engine and driver, no Decimal conversions.
- Persons appear only as ``person_key`` (a keyed-HMAC pseudonym) with sex and age band at the event.
- ``LowCardinality(String)`` marks code columns; it becomes ``String`` on engines without it.
"""
from __future__ import annotations

from .model import Column, Table, TableKind

VERSION = 1
DESCRIPTION = "star schema: date, division, institution, diagnosis, disease, drug, vaccine, person; 12 facts"

CODE = "LowCardinality(String)"
ROW_STATE = (
    Column("version", "UInt64", "highest version wins (ReplacingMergeTree)"),
    Column("deleted", "UInt8", "1 = retracted: read with deleted = 0"),
)
_FACT_IDENTITY = (
    Column("fact_key", "String", "<OLTP table>:<OLTP row id>"),
    Column("date", "Date", "the event's date (date dimension key, partition)"),
    Column("institution_code", CODE, "reporting institution (institution dimension key)"),
)
_LINEAGE = (
    Column("source_id", "UInt64", "OLTP row id"),
    Column("document_id", "UInt64", "record_document.id"),
    Column("message_id", "UInt64", "inbox_message.id: the signed message behind the fact"),
    Column("loaded_at", "DateTime('UTC')", "when the ETL wrote this version"),
)
_PERSON = (
    Column("person_key", "String", "keyed-HMAC pseudonym of the MPI person"),
    Column("sex", CODE, "GB/T 2261.1 code"),
    Column("age_band", CODE, "age at the event, e.g. 0-4, 5-14, 15-44, 45-64, 65+"),
)


def _dimension(name: str, key: tuple[str, ...], *columns: Column, comment: str) -> Table:
    return Table(name=name, kind=TableKind.DIMENSION, columns=(*columns, *ROW_STATE), order_by=key,
                 comment=comment)


def _fact(name: str, *measures: Column, person: bool = True, comment: str) -> Table:
    columns = (*_FACT_IDENTITY, *_LINEAGE, *(_PERSON if person else ()), *measures, *ROW_STATE)
    return Table(name=name, kind=TableKind.FACT, columns=columns,
                 order_by=("institution_code", "date", "fact_key"), partition_by="toYYYYMM(date)",
                 shard_key="sipHash64(fact_key)", comment=comment)


DIMENSIONS = (
    _dimension(
        "dim_date", ("date",),
        Column("date", "Date"), Column("year", "UInt16"), Column("quarter", "UInt8"),
        Column("month", "UInt8"), Column("year_month", "UInt32", "YYYYMM"),
        Column("week_start", "Date", "Monday of the ISO week"), Column("iso_year", "UInt16"),
        Column("iso_week", "UInt8"), Column("day_of_week", "UInt8", "1 = Monday"), Column("is_weekend", "UInt8"),
        comment="day -> week -> month -> quarter -> year"),
    _dimension(
        "dim_division", ("code",),
        Column("code", "String", "GB/T 2260"), Column("name", "String"), Column("level", CODE),
        Column("district_code", "String", "itself for district-level divisions"), Column("district_name", "String"),
        Column("city_code", "String"), Column("city_name", "String"),
        Column("province_code", "String"), Column("province_name", "String"),
        comment="administrative divisions: residence and report divisions roll up to district, city, province"),
    _dimension(
        "dim_institution", ("institution_code", "department_code"),
        Column("institution_code", "String"), Column("department_code", "String", "'' = the whole institution"),
        Column("department_name", "String"), Column("standard_department_code", "String", "诊疗科目"),
        Column("standard_department_name", "String"), Column("institution_name", "String"),
        Column("kind", CODE), Column("level", CODE), Column("parent_institution_code", "String"),
        Column("district_code", "String"), Column("district_name", "String"),
        Column("city_code", "String"), Column("city_name", "String"), Column("status", CODE),
        comment="city -> district -> institution -> department; one row per department plus one with "
                "department_code '' per institution"),
    _dimension(
        "dim_diagnosis", ("code",),
        Column("code", "String", "ICD-10 code as recorded"), Column("name", "String"),
        Column("category_code", "String", "3-character category"), Column("category_name", "String"),
        Column("block_code", "String"), Column("block_name", "String"),
        Column("chapter_code", "String", "roman numeral"), Column("chapter_name", "String"),
        Column("listed", "UInt8", "1 = the code itself is in the hub's code list"),
        comment="ICD-10 chapter -> block -> category -> code"),
    _dimension(
        "dim_disease", ("code",),
        Column("code", "String", "hub notifiable disease code"), Column("name", "String"),
        Column("class", CODE, "A 甲 / B 乙 / C 丙"), Column("class_name", "String"),
        Column("parent_code", "String"), Column("icd10_code", "String"),
        comment="notifiable class -> disease"),
    _dimension(
        "dim_drug", ("code",),
        Column("code", "String"), Column("name", "String"), Column("dosage_form", "String"),
        Column("atc_code", "String"), Column("category_code", "String", "ATC anatomical group, or TCM"),
        Column("category_name", "String"), Column("is_antibiotic", "UInt8", "ATC J01"),
        comment="category -> drug"),
    _dimension(
        "dim_vaccine", ("code",),
        Column("code", "String"), Column("name", "String"), Column("programme", CODE, "national / optional"),
        comment="vaccines of the immunization facts"),
    _dimension(
        "dim_person", ("person_key",),
        Column("person_key", "String", "keyed-HMAC pseudonym; never a name or an ID number"),
        Column("sex", CODE), Column("age_band", CODE, "age band at the last load"),
        Column("division_code", "String", "residence division"),
        comment="pseudonymous person: key, sex, age band, residence division only"),
)

FACTS = (
    _fact("fact_outpatient_visit",
          Column("department_code", "String"), Column("kind", CODE, "outpatient | emergency"),
          Column("primary_diagnosis_code", "String"), Column("total_fen", "Int64"), Column("drug_fen", "Int64"),
          comment="门急诊人次: one row per outpatient or emergency encounter"),
    _fact("fact_inpatient_stay",
          Column("department_code", "String"), Column("discharge_date", "Nullable(Date)"),
          Column("bed_days", "UInt32"), Column("discharge_outcome", CODE),
          Column("primary_diagnosis_code", "String"), Column("total_fen", "Int64"),
          comment="住院: one row per stay, date = admission date"),
    _fact("fact_medication",
          Column("kind", CODE, "prescription | dispense"), Column("drug_code", "String"),
          Column("quantity", "Float64"), Column("amount_fen", "Int64"),
          comment="prescription and dispense lines; document_id groups the lines of one prescription"),
    _fact("fact_lab_test",
          Column("test_code", "String"), Column("abnormal_flag", CODE), Column("is_abnormal", "UInt8"),
          Column("numeric_value", "Nullable(Float64)"),
          comment="one row per lab result"),
    _fact("fact_disease_report",
          Column("disease_code", "String"), Column("disease_class", CODE), Column("case_classification", CODE),
          Column("onset_date", "Date"), Column("report_date", "Date"), Column("division_code", "String"),
          Column("occupation_code", "String"),
          comment="传染病报告卡: date = diagnosis date"),
    _fact("fact_referral",
          Column("direction", CODE, "up | down"), Column("to_institution_code", "String"),
          Column("department_code", "String"), Column("status", CODE, "sent until the workflow records more"),
          Column("turnaround_hours", "Nullable(UInt32)", "referral to response, once known"),
          comment="双向转诊: one row per referral, date = referral date"),
    _fact("fact_drug_movement",
          Column("movement_type", CODE, "receipt | transfer | return"), Column("from_code", "String"),
          Column("from_kind", CODE), Column("to_code", "String"), Column("to_kind", CODE),
          Column("drug_code", "String"), Column("batch_number", "String"), Column("quantity", "Float64"),
          Column("amount_fen", "Int64"), person=False,
          comment="drug batches moving between suppliers, distributors and institutions"),
    _fact("fact_immunization",
          Column("vaccine_code", "String"), Column("dose_number", "UInt8"),
          comment="one row per administered dose"),
    _fact("fact_maternal_checkup",
          Column("checkup_type", CODE, "antenatal | postnatal"), Column("gestational_weeks", "Nullable(UInt8)"),
          Column("high_risk", "UInt8"),
          comment="one row per maternal checkup"),
    _fact("fact_child_checkup",
          Column("age_months", "UInt16"), Column("weight_kg", "Float64"), Column("height_cm", "Float64"),
          Column("development", CODE),
          comment="one row per child checkup"),
    _fact("fact_institution_month",
          Column("staff_on_duty", "UInt32"), Column("approved_beds", "UInt32"), Column("open_beds", "UInt32"),
          Column("fixed_assets_fen", "Int64"), Column("outpatient_visits", "Nullable(UInt32)"),
          Column("inpatient_discharges", "Nullable(UInt32)"), Column("revenue_drugs_fen", "Int64"),
          Column("revenue_examinations_fen", "Int64"), Column("revenue_treatment_fen", "Int64"),
          Column("revenue_other_fen", "Int64"), person=False,
          comment="InstitutionMonthlyStats: date = first day of the month reported"),
    _fact("fact_exchange_message",
          Column("document_type", CODE), Column("status", CODE, "processed | rejected | accepted | received"),
          Column("error_code", CODE, "'' unless rejected"), Column("is_rejected", "UInt8"),
          Column("received_at", "DateTime('UTC')"),
          Column("lateness_hours", "Nullable(Int32)", "received_at - the document's effective time"),
          person=False,
          comment="exchange health: one row per inbox message, institution = member, date = received date"),
)

ROLLUPS = (
    Table(
        name="rollup_visits_institution_day", kind=TableKind.ROLLUP,
        columns=(Column("date", "Date"), Column("institution_code", CODE), Column("department_code", "String"),
                 Column("kind", CODE), Column("visits", "UInt64"), Column("total_fen", "Int64"),
                 Column("drug_fen", "Int64"), *ROW_STATE),
        order_by=("institution_code", "date", "department_code", "kind"), partition_by="toYYYYMM(date)",
        shard_key="sipHash64(institution_code)",
        comment="exact visits per institution, department, kind and day; recomputed by the ETL per date range"),
)

TABLES = (*DIMENSIONS, *FACTS, *ROLLUPS)

__all__ = ["VERSION", "DESCRIPTION", "DIMENSIONS", "FACTS", "ROLLUPS", "TABLES"]
