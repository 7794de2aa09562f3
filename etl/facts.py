"""Which OLTP rows become which mart facts: one ``FactSource`` per fact table.

Each source is a plain SQL select over one OLTP row table joined to its ``record_document`` (for
lineage and the change feed) and, for facts about a person, to ``mpi_person`` (sex and birth date
only: the pseudonym is computed from the id in ``etl.transform``; names and identifiers are never
read). ``{where}`` is filled in by ``etl.extract`` with the run's selection (changed documents,
persons touched by a merge, or a backfill range), so incremental runs, backfills and
reconciliation all read the same rows the same way. The SQL is the common subset of SQLite and
PostgreSQL.

``extras`` are per-document aggregates a fact needs from sibling tables (the primary diagnosis and
the drug charges of a visit), read with the same selection and merged on ``document_row_id``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# the finding a resident ID that fails its check is stored with (protocol.findings), and the one of a
# document with two different valid resident IDs: either way a resident ID was sent and none is trusted
INVALID_RESIDENT_ID = "record.patient.id.invalid"
CONFLICTING_RESIDENT_IDS = "record.patient.id.conflict"

_PERSON_JOIN = "LEFT JOIN mpi_person p ON p.id = r.person_id"
_PERSON_COLUMNS = "r.person_id AS person_id, p.sex AS person_sex, p.birth_date AS person_birth_date"


@dataclass(frozen=True)
class FactSource:
    fact: str  # mart table
    oltp_table: str  # the row table; fact_key = "<oltp_table>:<row id>"
    columns: str  # the row's own columns, as "r.col AS name, ..."
    date_column: str  # name (after AS) of the column that gives the fact's date
    person: bool = True
    condition: str = ""  # extra filter on the rows of oltp_table
    extras: tuple[str, ...] = field(default_factory=tuple)  # SELECT d.id AS document_row_id, ... {where} GROUP BY d.id
    document_column: str = "document_ref"  # the row's document (``id`` when the row is the document itself)
    joins: str = ""  # more LEFT JOINs after the document's (columns may read them)
    # a column of a joined table whose change re-reads the row (a workflow's state): an incremental run
    # also selects the rows whose ``changed_also`` falls in its window
    changed_also: str = ""

    def select(self, where: str) -> str:
        person_columns = f", {_PERSON_COLUMNS}" if self.person else ""
        person_join = f" {_PERSON_JOIN}" if self.person else ""
        condition = f" AND ({self.condition})" if self.condition else ""
        document = f"r.{self.document_column}"
        return (f"SELECT r.id AS source_row_id, {document} AS document_row_id, d.message_row_id AS message_row_id, "
                f"r.institution AS institution_code{person_columns}, {self.columns} "
                f"FROM {self.oltp_table} r JOIN record_document d ON d.id = {document}{person_join}"
                f"{' ' + self.joins if self.joins else ''} "
                f"WHERE ({where}){condition}")

    def extra_selects(self, where: str) -> list[str]:
        return [extra.format(where=where) for extra in self.extras]


def _per_document(select: str, table: str, condition: str) -> str:
    return (f"SELECT d.id AS document_row_id, {select} FROM {table} x JOIN record_document d ON d.id = x.document_ref "
            f"WHERE ({{where}}) AND ({condition}) GROUP BY d.id")


# the first card of the card's case (hub.workflows.surveillance: cards linked through the MPI); NULL: not linked yet
_CASE_FIRST_CARD = ("(SELECT c.first_card_row_id FROM workflow_disease_case_card m JOIN workflow_disease_case c "
                    "ON c.id = m.case_id WHERE m.document_row_id = r.document_ref) AS case_first_card")
_PRIMARY_DIAGNOSIS = _per_document("MIN(x.code) AS primary_diagnosis_code", "record_diagnosis", "x.is_primary = TRUE")
_DRUG_CHARGES = _per_document("SUM(x.amount) AS drug_amount", "record_charge", "x.category = 'drugs'")

REFERRAL_CASE_JOIN = ("LEFT JOIN workflow_referral w ON w.document_row_id = r.document_ref "
                      "AND w.state <> 'redirected' "
                      "LEFT JOIN workflow_referral wp ON wp.id = w.previous_id")

CLINICAL_SOURCES: tuple[FactSource, ...] = (
    FactSource("fact_outpatient_visit", "record_encounter",
               "r.start_time AS at, r.department_code AS department_code, r.kind AS kind, "
               "r.total_amount AS total_amount", "at",
               condition="r.kind IN ('outpatient', 'emergency')", extras=(_PRIMARY_DIAGNOSIS, _DRUG_CHARGES)),
    FactSource("fact_inpatient_stay", "record_encounter",
               "r.start_time AS at, r.end_time AS discharged_at, r.department_code AS department_code, "
               "r.bed_days AS bed_days, r.discharge_outcome AS discharge_outcome, r.total_amount AS total_amount", "at",
               condition="r.kind = 'inpatient'", extras=(_PRIMARY_DIAGNOSIS,)),
    FactSource("fact_medication", "record_medication",
               "r.at AS at, r.kind AS kind, r.drug_code AS drug_code, r.quantity AS quantity, r.amount AS amount",
               "at"),
    FactSource("fact_lab_test", "record_lab_result",
               "r.reported_at AS at, r.test_code AS test_code, r.abnormal_flag AS abnormal_flag, "
               "r.numeric_value AS numeric_value", "at"),
    FactSource("fact_disease_report", "record_disease_report",
               "r.diagnosis_date AS diagnosed_on, r.disease_code AS disease_code, r.disease_class AS disease_class, "
               "r.case_classification AS case_classification, r.onset_date AS onset_date, "
               "r.reported_at AS reported_at, r.division AS division_code, r.occupation_code AS occupation_code, "
               + _CASE_FIRST_CARD, "diagnosed_on"),
    # an up-referral's case (hub/workflows/referral: its live case, not one redirected away) gives the
    # fact its state, its receiver (the hospital it was redirected to: the one that accepts or rejects it),
    # the hospital that redirected it there, and the receiver's turnaround; a case's move re-reads the fact
    FactSource("fact_referral", "record_referral",
               "r.referred_at AS at, r.direction AS direction, "
               "COALESCE(w.to_institution, r.to_institution) AS to_institution_code, "
               "COALESCE(wp.to_institution, '') AS redirected_by, "
               "r.department_code AS department_code, w.state AS case_state, "
               "w.requested_at AS case_requested_at, w.decided_at AS case_decided_at", "at",
               joins=REFERRAL_CASE_JOIN, changed_also="w.updated_at"),
    FactSource("fact_drug_movement", "record_drug_movement",
               "r.moved_at AS at, r.movement_type AS movement_type, r.from_code AS from_code, "
               "r.from_kind AS from_kind, r.to_code AS to_code, r.to_kind AS to_kind, r.drug_code AS drug_code, "
               "r.batch_number AS batch_number, r.quantity AS quantity, r.amount AS amount", "at", person=False),
    FactSource("fact_immunization", "record_immunization",
               "r.administered_on AS on_day, r.vaccine_code AS vaccine_code, r.dose_number AS dose_number", "on_day"),
    FactSource("fact_maternal_checkup", "record_maternal_checkup",
               "r.checkup_date AS on_day, r.checkup_type AS checkup_type, "
               "r.gestational_weeks AS gestational_weeks, r.high_risk AS high_risk", "on_day"),
    FactSource("fact_child_checkup", "record_child_checkup",
               "r.checkup_date AS on_day, r.age_months AS age_months, r.weight_kg AS weight_kg, "
               "r.height_cm AS height_cm, r.development AS development", "on_day"),
    FactSource("fact_institution_month", "record_institution_stats",
               "r.period AS period, r.staff_on_duty AS staff_on_duty, r.approved_beds AS approved_beds, "
               "r.open_beds AS open_beds, r.fixed_assets AS fixed_assets, r.outpatient_visits AS outpatient_visits, "
               "r.inpatient_discharges AS inpatient_discharges, r.revenue_drugs AS revenue_drugs, "
               "r.revenue_examinations AS revenue_examinations, r.revenue_treatment AS revenue_treatment, "
               "r.revenue_other AS revenue_other", "period", person=False),
)

# Data quality (docs/data-quality.md, "Figures"): the findings, and per stored document the flags the
# figures need, each a count or a 0/1 read by a subquery on indexed columns: the patient record's
# resident ID and the person's identifiers are tested for presence only, never read. Measured on 4,000
# stored visits (SQLite): 82k documents/s read, against 129k visits/s for fact_outpatient_visit.
_VISIT = "e.document_ref = r.id AND e.kind IN ('outpatient', 'emergency')"
_CODED = ("EXISTS (SELECT 1 FROM record_diagnosis x WHERE x.document_ref = r.id AND x.is_primary = TRUE "
          "AND x.code <> '')")
# a Cancellation is a document about another one, not an event: it is not counted (nor its findings)
_NOT_CANCELLATION = "{table}.document_type <> 'Cancellation'"  # the header's type name, as stored
QUALITY_SOURCES: tuple[FactSource, ...] = (
    FactSource("fact_finding", "record_finding",
               "d.effective_time AS at, d.document_type AS document_type, r.code AS code, r.field AS field", "at",
               person=False, condition=_NOT_CANCELLATION.format(table="d")),
    FactSource("fact_document_quality", "record_document",
               "r.effective_time AS at, r.document_type AS document_type, r.recorded_at AS recorded_at, "
               "(SELECT m.received_at FROM inbox_message m WHERE m.id = r.message_row_id) AS received_at, "
               "CASE WHEN r.patient_record_id IS NULL THEN 0 ELSE 1 END AS has_patient, "
               "(SELECT COUNT(*) FROM mpi_patient_record pr WHERE pr.id = r.patient_record_id "
               "AND pr.resident_id IS NOT NULL AND pr.resident_id <> '') AS resident_ids_recorded, "
               "(SELECT COUNT(*) FROM record_finding f WHERE f.document_ref = r.id "
               f"AND f.code IN ('{INVALID_RESIDENT_ID}', '{CONFLICTING_RESIDENT_IDS}')) AS resident_ids_invalid, "
               "CASE WHEN EXISTS (SELECT 1 FROM mpi_identifier i WHERE i.person_id = r.person_id "
               "AND i.kind = 'resident_id') THEN 1 ELSE 0 END AS person_resident_ids, "
               f"(SELECT COUNT(*) FROM record_encounter e WHERE {_VISIT}) AS visits, "
               f"(SELECT COUNT(*) FROM record_encounter e WHERE {_VISIT} AND {_CODED}) AS coded_visits, "
               f"(SELECT COUNT(*) FROM record_encounter e WHERE {_VISIT} AND e.total_amount > 0) AS charged_visits, "
               "(SELECT COUNT(*) FROM record_finding f WHERE f.document_ref = r.id) AS findings", "at",
               condition="r.status = 'current' AND " + _NOT_CANCELLATION.format(table="r"), document_column="id"),
)

# Exchange health comes from the inbox itself (every message, processed or rejected).
MESSAGE_FACT = "fact_exchange_message"
MESSAGE_SELECT = (
    "SELECT m.id AS source_row_id, COALESCE(d.id, 0) AS document_row_id, m.id AS message_row_id, "
    "m.member AS institution_code, "
    "m.document_type AS document_type, m.status AS status, m.error_code AS error_code, "
    "m.received_at AS received_at, d.effective_time AS effective_time "
    "FROM inbox_message m LEFT JOIN record_document d ON d.message_row_id = m.id WHERE ({where})"
)

SOURCES = (*CLINICAL_SOURCES, *QUALITY_SOURCES)
FACT_TABLES = (*(source.fact for source in SOURCES), MESSAGE_FACT)

__all__ = ["FactSource", "SOURCES", "CLINICAL_SOURCES", "QUALITY_SOURCES", "INVALID_RESIDENT_ID", "MESSAGE_FACT",
           "MESSAGE_SELECT", "FACT_TABLES"]
