"""Mart schema version 7: data-quality facts (issue 23: data-quality figures per institution and month).

- ``fact_finding``: one row per finding kept beside a stored document (``record_finding``): the
  document's institution, date (its effective time, local) and type, the finding's code, the quality
  dimension the code counts against (``protocol.findings``) and the field's path — never a value.
- ``fact_document_quality``: one row per stored (current) document with the flags the figures need:
  whether it has a patient, whether that patient's resident ID is present and valid, whether the
  person it is linked to holds a valid resident ID (a 0/1 flag: no identifier is read into the mart),
  its outpatient/emergency visits with a coded primary diagnosis and with charges, and the hours from
  its effective time to its arrival at the hub.

A document-level fact rather than columns on the existing facts: resident-ID completeness, linkage,
timeliness and the findings' denominator are figures *per document*, of every document type (a lab
report, a disease report), while the existing facts are one row per visit, per result or per dose;
putting the flags on each would count a lab report of four results four times. Both facts follow the
others: identity ``(institution_code, date, fact_key)``, lineage columns, replaced with a new
version of the document and retracted with its cancellation.
"""
from __future__ import annotations

from . import v5
from .model import Column, Table, TableKind
from .v1 import CODE, ROW_STATE

VERSION = 7
DESCRIPTION = "data-quality facts: fact_finding, fact_document_quality"

_IDENTITY = (
    Column("fact_key", "String", "<OLTP table>:<OLTP row id>"),
    Column("date", "Date", "the document's effective date (local)"),
    Column("institution_code", CODE, "the document's institution"),
    v5.LINEAGE["source_id"], v5.LINEAGE["document_id"], v5.LINEAGE["message_id"],
    Column("loaded_at", "DateTime('UTC')", "when the ETL wrote this version"),
)
_PERSON = (
    Column("person_key", "String", "keyed-HMAC pseudonym of the MPI person ('' = no patient)"),
    Column("sex", CODE, "GB/T 2261.1 code"),
    Column("age_band", CODE, "age at the document's date"),
)


def _fact(name: str, *columns: Column, comment: str) -> Table:
    return Table(name=name, kind=TableKind.FACT, columns=(*_IDENTITY, *columns, *ROW_STATE),
                 order_by=("institution_code", "date", "fact_key"), partition_by="toYYYYMM(date)",
                 shard_key="sipHash64(fact_key)", comment=comment)


FACTS = (
    _fact("fact_finding",
          Column("document_type", CODE, "the document's type, e.g. OutpatientVisit"),
          Column("code", CODE, "finding code (protocol.findings)"),
          Column("dimension", CODE, "completeness | validity | consistency | linkage ('' = code unknown here)"),
          Column("field", "String", "path of the field found wrong (never its value)"),
          comment="one row per finding of a stored document (record_finding); date = the document's date"),
    _fact("fact_document_quality",
          *_PERSON,
          Column("document_type", CODE),
          Column("has_patient", "UInt8", "1 = the document names a patient"),
          Column("resident_id_present", "UInt8", "1 = the patient's resident ID was sent (valid or not)"),
          Column("resident_id_valid", "UInt8", "1 = present, stored as valid and no record.patient.id.invalid"),
          Column("linked_valid", "UInt8", "1 = linked to an MPI person holding a valid resident ID"),
          Column("visits", "UInt16", "outpatient and emergency encounters of the document"),
          Column("coded_visits", "UInt16", "those of a document with a coded primary diagnosis"),
          Column("charged_visits", "UInt16", "those with charges (total > 0)"),
          Column("findings", "UInt16", "findings kept beside the document"),
          Column("received_at", "DateTime('UTC')", "first arrival of the document at the hub"),
          Column("lateness_hours", "Float64", "received_at - effective time, in hours"),
          comment="one row per stored document: the flags of the data-quality figures"),
)

TABLES = FACTS

__all__ = ["VERSION", "DESCRIPTION", "FACTS", "TABLES"]
