"""The csv and database sources share one row map: samples, grouping, bad rows, the query helper."""
from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import create_engine

from adapters.sources.database import next_watermark, source_query

from .conftest import assert_clean_quarantine, run, sample, value

VISITS = {"document": "OutpatientVisit", "key": "就诊流水号", "encoding": "gb18030", "fields": {
    "effective_time": "更新时间", "version": "更新时间", "patient.resident_id": "身份证号", "patient.name": "姓名",
    "patient.sex": {"column": "性别", "codes": {"男": "1", "女": "2"}}, "patient.birth_date": "出生日期",
    "patient.telecom": "联系电话", "visitTime": "就诊时间",
    "department": {"column": "科室代码", "codes": {"XNK": "03.04", "QK": "02"}},
    "diagnosis.code": {"column": "诊断编码", "split": ";"}, "diagnosis.display": {"column": "诊断名称", "split": ";"},
    "charges.drugs": "西药费", "charges.examinations": "检查费", "charges.treatment": "治疗费",
    "practitioner.code": "医生工号", "practitioner.name": "医生姓名", "emergency": {"constant": "0"}}}
LAB = {"document": "LabReport", "key": ["report_no"], "fields": {
    "effective_time": "updated_at", "patient.resident_id": "id_card", "patient.name": "patient_name",
    "patient.sex": "sex", "patient.birth_date": "birth_date", "reportTime": "report_time",
    "result.test": "test_code", "result.test.display": "test_name", "result.value": "result", "result.unit": "unit",
    "result.low": "ref_low", "result.high": "ref_high", "result.abnormalFlag": "flag"}}


def test_gb18030_visits_export():
    items = run("csv", sample("csv", "his_outpatient_visits_gb18030.csv"), VISITS)
    assert [i.key.split("@")[0] for i in items] == ["MZ20261118-0101", "MZ20261118-0102", "MZ20261118-0103"]
    assert all(i.problem is None for i in items), [i.problem for i in items]
    first, second = items[0].document, items[1].document
    assert value(first, "d:body/d:diagnosis[2]", "code") == "E11.9"
    assert value(first, "d:body/d:diagnosis[1]", "primary") == "true"
    assert value(first, "d:body/d:charges/d:charge[1]", "amount") == "86.50"
    assert value(first, "d:body/d:emergency") == "false"
    assert value(second, "d:body/d:visitTime", "value") == "2026-11-18T09:40:00+08:00"  # 2026/11/18 09:40
    assert value(second, "d:header/d:patient/d:id", "extension") == "33010919550930013x"  # as typed: the hub reports it
    assert value(second, "d:body/d:department", "code") == "02"
    assert int(value(second, "d:header/d:version")) > 1  # from the update time
    # An updated row gets a new key (else the agent would take it for the row already sent).
    assert items[1].key == f"MZ20261118-0102@{value(second, 'd:header/d:version')}"


def test_utf8_bom_lab_rows_grouped_by_report():
    items = run("csv", sample("csv", "lis_lab_results_utf8_bom.csv"), LAB)
    assert [i.key for i in items] == ["JY2026112201", "JY2026112202"]
    assert len(items[0].document.xpath("//d:result", namespaces={"d": "urn:hie:doc:v1"})) == 2
    assert value(items[0].document, "d:body/d:result[2]/d:referenceRange", "high") == "5.2"


def test_missing_column_quarantines_each_row():
    items = run("csv", sample("csv", "bad_missing_columns.csv"), VISITS)
    assert len(items) == 1
    assert_clean_quarantine(items[0], "source.csv.column.missing")
    assert items[0].problem.field.startswith("column ")


def test_missing_key_column_quarantines_the_file():
    items = run("csv", sample("csv", "lis_lab_results_utf8_bom.csv"), {**LAB, "key": "no_such_column"})
    assert len(items) == 1 and items[0].key.startswith("sha256:")
    assert_clean_quarantine(items[0], "source.csv.column.missing")


def test_wrong_encoding_is_one_quarantine():
    items = run("csv", sample("csv", "his_outpatient_visits_gb18030.csv"), {**VISITS, "encoding": "utf-8"})
    assert_clean_quarantine(items[0], "source.csv.encoding.invalid")


def test_bad_row_does_not_stop_the_others():
    text = sample("csv", "his_outpatient_visits_gb18030.csv").decode("gb18030").replace(
        "2026/11/18 09:40", "2026-13-45 09:40").replace("QK,J18.9", "ZZ,J18.9")
    items = run("csv", text.encode("gb18030"), VISITS)
    assert items[0].problem is None
    assert_clean_quarantine(items[1], "source.csv.datetime.invalid")
    assert_clean_quarantine(items[2], "record.code.unknown")


def test_unknown_field_name_is_a_configuration_error():
    with pytest.raises(ValueError):
        run("csv", b"a\n1\n", {**LAB, "fields": {**LAB["fields"], "body.nonsense": "a"}})


def test_database_rows_with_datetime_objects():
    rows = [{"report_no": "JY1", "report_time": datetime(2026, 11, 22, 11, 0), "id_card": "330102199011110375",
             "patient_name": "郑浩", "sex": "1", "birth_date": datetime(1990, 11, 11).date(), "test_code": "5804-0",
             "test_name": "尿蛋白", "result": "阴性", "unit": None, "ref_low": None, "ref_high": None, "flag": "N",
             "updated_at": datetime(2026, 11, 22, 11, 5)}]
    items = run("database", rows, LAB)
    assert items[0].problem is None, items[0].problem
    assert value(items[0].document, "d:body/d:reportTime", "value") == "2026-11-22T11:00:00+08:00"
    rows[0].pop("flag")
    assert_clean_quarantine(run("database", rows, LAB)[0], "source.database.column.missing")


def test_source_query_reads_after_the_watermark(tmp_path):
    path = tmp_path / "clinic.db"
    with sqlite3.connect(path) as connection:
        connection.execute("create table lab (report_no text, updated_at text)")
        connection.executemany("insert into lab values (?, ?)", [("A", "2026-11-01"), ("B", "2026-11-02"), ("C", "2026-11-03")])
    engine = create_engine(f"sqlite:///{path}")
    options = {"table": "lab", "watermark": "updated_at", "batch_size": 2}
    with engine.connect() as connection:
        first = [dict(r._mapping) for r in connection.execute(source_query(options))]
        mark = next_watermark(first, options)
        rest = [dict(r._mapping) for r in connection.execute(source_query(options, mark))]
        query = {"query": "select * from lab where updated_at > :watermark order by updated_at",
                 "watermark": "updated_at", "initial_watermark": "2026-11-02"}
        from_text = [r.report_no for r in connection.execute(source_query(query))]
    assert [r["report_no"] for r in first] == ["A", "B"] and mark == "2026-11-02"
    assert [r["report_no"] for r in rest] == ["C"]
    assert from_text == ["C"]
    assert next_watermark([], options, "kept") == "kept"
