"""Clinics whose HIS gives rows: a CSV export per month, or its own database table read by watermark.

Both are read by the agent's row maps (docs/adapters.md, "Row maps"): one row per visit, the
HIS's own department codes and sex codes translated by the map's ``codes``, each charge category
in its own column, and the visit's revision (1, or a corrected visit's ``version``) mapped as the
document's version. The export's key is visit number and revision, so an export holding a visit
and its correction gives two documents. The database keeps one row per visit: a correction
updates it (a higher revision only) and takes the next change sequence (``CHANGE_SEQ``, the
agent's watermark), so the agent reads it again; writing the same revision again changes nothing.
"""
from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from .channel_visit import VisitRecord
from .model import CLINIC_DEPARTMENTS

# ---------------------------------------------------------------- CSV export

CSV_DEPARTMENTS = {"QK": "101", "YF": "102", "EB": "103"}  # registry code → the export's 科室代码
CSV_COLUMNS = ("就诊流水号", "版本号", "就诊时间", "结算时间", "身份证号", "门诊号", "姓名", "性别", "出生日期", "联系电话",
               "现住址", "行政区划", "科室代码", "急诊", "诊断编码", "西药费", "检查费", "治疗费", "其他费", "医生工号",
               "医生姓名")
CSV_SEX = {"1": "男", "2": "女", "0": "未知", "9": "未说明"}
CSV_FEES = {"drugs": "西药费", "examinations": "检查费", "treatment": "治疗费", "other": "其他费"}


def _local(moment: datetime) -> str:
    """A local time as the HIS writes it: no offset (the source's timezone, +08:00, is the region's)."""
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def csv_file(visits: list[VisitRecord], *, encoding: str) -> bytes:
    """One CSV export (header + a row per visit) in ``encoding``, CRLF line ends as Windows writes them."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for visit in visits:
        fees = dict(visit.charges)
        writer.writerow((visit.record_id, visit.version, _local(visit.visit_time), _local(visit.settled),
                         visit.resident_id or "", visit.outpatient_no, visit.name, CSV_SEX.get(visit.sex or "", ""),
                         visit.birth_date, visit.phone or "", visit.address or "", visit.division or "",
                         CSV_DEPARTMENTS[visit.department], "是" if visit.emergency else "否", ";".join(visit.diagnoses),
                         *(fees.get(category, "") for category in CSV_FEES), *visit.practitioner))
    return out.getvalue().encode(encoding)


def csv_source(*, encoding: str) -> dict[str, Any]:
    """The ``[[sources]]`` entry (as values) that reads the CSV exports."""
    return {"name": "his-csv", "kind": "csv", "folder": "csv-in", "pattern": "*.csv", "settle_seconds": 0,
            "encoding": encoding, "document": "OutpatientVisit",
            "key": ["就诊流水号", "版本号"], "fields": {
                "document_id": "就诊流水号", "version": "版本号", "effective_time": "结算时间", "practitioner.code": "医生工号", "practitioner.name": "医生姓名",
                "patient.resident_id": "身份证号", "patient.outpatient_no": "门诊号", "patient.name": "姓名",
                "patient.sex": {"column": "性别", "codes": {local: code for code, local in CSV_SEX.items()}},
                "patient.birth_date": "出生日期", "patient.telecom": "联系电话", "patient.address": "现住址",
                "patient.division": "行政区划", "visitTime": "就诊时间",
                "department": {"column": "科室代码", "codes": _codes(CSV_DEPARTMENTS)}, "emergency": "急诊",
                "diagnosis.code": {"column": "诊断编码", "split": ";"}, **{f"charges.{category}": column for category, column in CSV_FEES.items()}}}


# ---------------------------------------------------------------- HIS database

TABLE = "OUTP_VISIT"
DB_DEPARTMENTS = {"QK": "0201", "YF": "0101", "EB": "0901"}
DB_FEES = {"drugs": "DRUG_FEE", "examinations": "EXAM_FEE", "treatment": "TREAT_FEE", "other": "OTHER_FEE"}
_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    ID INTEGER PRIMARY KEY AUTOINCREMENT,
    VISIT_NO TEXT NOT NULL UNIQUE, VISIT_TIME TEXT NOT NULL, SETTLE_TIME TEXT NOT NULL,
    ID_CARD_NO TEXT, OUTP_NO TEXT NOT NULL, PAT_NAME TEXT NOT NULL, SEX_CODE TEXT, BIRTH_DATE TEXT NOT NULL,
    PHONE TEXT, ADDRESS TEXT, AREA_CODE TEXT, DEPT_CODE TEXT NOT NULL, EMERGENCY_FLAG TEXT NOT NULL,
    DIAG_CODE TEXT NOT NULL, DRUG_FEE DECIMAL(10,2), EXAM_FEE DECIMAL(10,2), TREAT_FEE DECIMAL(10,2),
    OTHER_FEE DECIMAL(10,2), DOCTOR_CODE TEXT NOT NULL, DOCTOR_NAME TEXT NOT NULL,
    REVISION INTEGER NOT NULL,
    CHANGE_SEQ INTEGER NOT NULL UNIQUE  -- the next number on every insert and update: the agent's watermark
)"""
_COLUMNS = ("VISIT_NO", "VISIT_TIME", "SETTLE_TIME", "ID_CARD_NO", "OUTP_NO", "PAT_NAME", "SEX_CODE", "BIRTH_DATE",
            "PHONE", "ADDRESS", "AREA_CODE", "DEPT_CODE", "EMERGENCY_FLAG", "DIAG_CODE", *DB_FEES.values(),
            "DOCTOR_CODE", "DOCTOR_NAME", "REVISION")
# A visit already there is changed only by a higher revision: a re-run of the same month changes nothing.
_UPSERT = (f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}, CHANGE_SEQ) VALUES ({', '.join('?' * len(_COLUMNS))}, "
           f"(SELECT coalesce(max(CHANGE_SEQ), 0) + 1 FROM {TABLE})) ON CONFLICT (VISIT_NO) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in (*_COLUMNS[1:], "CHANGE_SEQ"))
           + f" WHERE excluded.REVISION > {TABLE}.REVISION")


def _db_row(visit: VisitRecord) -> tuple:
    fees = dict(visit.charges)
    return (visit.record_id, _local(visit.visit_time), _local(visit.settled), visit.resident_id, visit.outpatient_no,
            visit.name, visit.sex, visit.birth_date, visit.phone, visit.address, visit.division,
            DB_DEPARTMENTS[visit.department], "1" if visit.emergency else "0", ";".join(visit.diagnoses),
            *(fees.get(category) for category in DB_FEES), *visit.practitioner, visit.version)


def create_table(path: Path) -> None:
    """The HIS's visit table, empty, as the HIS has it before its first visit (the agent reads it from the start)."""
    db = sqlite3.connect(path, timeout=30.0)
    try:
        with db:
            db.execute(_SCHEMA)
    finally:
        db.close()


def upsert_visits(path: Path, visits: list[VisitRecord]) -> int:
    """Write ``visits`` into the HIS table in one transaction: new visits inserted, corrected ones (a
    higher revision) updated, the others left alone. Returns the rows changed."""
    db = sqlite3.connect(path, timeout=30.0)
    try:
        with db:
            db.execute(_SCHEMA)
            before = db.total_changes
            for visit in visits:  # one statement a row: each takes the next CHANGE_SEQ
                db.execute(_UPSERT, _db_row(visit))
            return db.total_changes - before
    finally:
        db.close()


def database_source(path: Path) -> dict[str, Any]:
    """The ``[[sources]]`` entry (as values) that reads the HIS table by watermark."""
    return {"name": "his-db", "kind": "database", "database": f"sqlite:///{path.resolve()}", "table": TABLE,
            "watermark": "CHANGE_SEQ", "batch_size": 1000, "document": "OutpatientVisit", "key": "VISIT_NO",
            "fields": {
                "effective_time": "SETTLE_TIME", "version": "REVISION", "practitioner.code": "DOCTOR_CODE",
                "practitioner.name": "DOCTOR_NAME", "patient.resident_id": "ID_CARD_NO",
                "patient.outpatient_no": "OUTP_NO", "patient.name": "PAT_NAME", "patient.sex": "SEX_CODE",
                "patient.birth_date": "BIRTH_DATE", "patient.telecom": "PHONE", "patient.address": "ADDRESS",
                "patient.division": "AREA_CODE", "visitTime": "VISIT_TIME",
                "department": {"column": "DEPT_CODE", "codes": _codes(DB_DEPARTMENTS)}, "emergency": "EMERGENCY_FLAG",
                "diagnosis.code": {"column": "DIAG_CODE", "split": ";"}, **{f"charges.{category}": column for category, column in DB_FEES.items()}}}


def _codes(local: dict[str, str]) -> dict[str, str]:
    """The map's translation of a HIS's department codes to the standard 诊疗科目 codes."""
    return {local[code]: standard for code, _, standard, _ in CLINIC_DEPARTMENTS}


# ---------------------------------------------------------------- TOML

def toml_value(value: Any) -> str:
    """``value`` as TOML: text (JSON's escapes are TOML's), numbers, arrays, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def toml_source(entry: dict[str, Any]) -> str:
    """One ``[[sources]]`` entry: its scalar settings, then its ``[sources.fields]`` table."""
    lines = ["[[sources]]", *(f"{key} = {toml_value(value)}" for key, value in entry.items() if key != "fields")]
    if entry.get("fields"):
        lines += ["[sources.fields]", *(f"{json.dumps(name, ensure_ascii=False)} = {toml_value(spec)}"
                                        for name, spec in entry["fields"].items())]
    return "\n".join(lines) + "\n"


__all__ = ["CSV_COLUMNS", "CSV_DEPARTMENTS", "DB_DEPARTMENTS", "TABLE", "csv_file", "csv_source", "create_table",
           "upsert_visits",
           "database_source", "toml_value", "toml_source"]
