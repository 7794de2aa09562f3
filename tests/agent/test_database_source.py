"""The database collector: the clinic's rows, read from the stored watermark on through the
``database`` adapter's query helper, become outbox items once; a corrected row is sent again."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from decimal import Decimal

from adapters.agent import Agent, load
from adapters.agent.collect import decode_watermark, encode_watermark

from .conftest import write_config

SOURCE = """
[[sources]]
name = "lis"
kind = "database"
database = "sqlite:///{db}"
table = "lab"
watermark = "updated_at"
batch_size = 2
document = "LabReport"
key = ["report_no"]
[sources.fields]
effective_time = "updated_at"
"patient.resident_id" = "id_card"
"patient.name" = "patient_name"
"patient.sex" = "sex"
"patient.birth_date" = "birth_date"
reportTime = "report_time"
"result.test" = "test_code"
"result.test.display" = "test_name"
"result.value" = "result"
"result.unit" = "unit"
"""
# Synthetic LIS rows (the shape of adapters/samples/csv/lis_lab_results_utf8_bom.csv).
ROWS = [("JY1", "20261122110000", "330106197205180044", "周晓梅", "2", "19720518", "14771-0", "空腹血糖", "6.8", "mmol/L",
         "2026-11-22T11:05:00+08:00"),
        ("JY1", "20261122110000", "330106197205180044", "周晓梅", "2", "19720518", "2093-3", "总胆固醇", "4.9", "mmol/L",
         "2026-11-22T11:05:00+08:00"),
        ("JY2", "20261122104000", "330102199011110375", "郑浩", "1", "19901111", "5804-0", "尿蛋白", "阴性", "",
         "2026-11-22T11:06:00+08:00")]


def test_rows_collected_once_from_the_watermark_and_corrections_sent_again(tmp_path, pki_dir):
    db = tmp_path / "clinic.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE lab (report_no, report_time, id_card, patient_name, sex, birth_date,"
                           " test_code, test_name, result, unit, updated_at)")
        connection.executemany("INSERT INTO lab VALUES (?,?,?,?,?,?,?,?,?,?,?)", ROWS)
    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    config.write_text(config.read_text() + SOURCE.format(db=db))
    agent = Agent(load(config))
    (lis,) = [r for r in agent.collect() if r.source == "lis"]
    assert (lis.rows, lis.added) == (3, 2)  # two reports; JY1's two result rows are one document
    with agent.outbox() as outbox:
        assert outbox.counts()["pending"] == 2 and outbox.quarantined() == []
        assert decode_watermark(outbox.watermark("lis")) == "2026-11-22T11:06:00+08:00"
    (again,) = [r for r in agent.collect() if r.source == "lis"]
    assert (again.rows, again.added) == (0, 0)

    with sqlite3.connect(db) as connection:  # the lab corrects JY2
        connection.execute("UPDATE lab SET result = '弱阳性', updated_at = '2026-11-22T12:00:00+08:00'"
                           " WHERE report_no = 'JY2'")
    (fixed,) = [r for r in agent.collect() if r.source == "lis"]
    assert (fixed.rows, fixed.added) == (1, 1)
    with agent.outbox() as outbox:
        keys = sorted(item.item_key.split("@")[0] for item in outbox.backlog(10))
    assert keys == ["JY1", "JY2", "JY2"]


def test_watermark_keeps_its_type():
    for value in (datetime(2026, 11, 22, 11, 5, tzinfo=timezone.utc), date(2026, 11, 22), Decimal("10.5"), 42,
                  "2026-11-22", None):
        assert decode_watermark(encode_watermark(value)) == value
