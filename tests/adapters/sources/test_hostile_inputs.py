"""Messy clinic data must become a quarantined item, never an exception that blocks the source.

An adapter that raises leaves the file in the folder (collected, and failing, again every minute)
and, for a database source, keeps the watermark where it was: one bad row would stop every row
after it forever. Inputs are the named samples with one value made hostile. A corrected database
row, too, must reach the hub as a correction (a higher version), not as a duplicate it drops.
"""
from __future__ import annotations

from .conftest import assert_clean_quarantine, run, sample, value
from .test_rows import LAB

LAB_ROW = {"report_no": "JY1", "report_time": "20261122110000", "id_card": "330102199011110375",
           "patient_name": "郑浩", "sex": "1", "birth_date": "19901111", "test_code": "5804-0",
           "test_name": "尿蛋白", "result": "阴性", "unit": None, "ref_low": None, "ref_high": None, "flag": "N",
           "updated_at": "2026-11-22T11:05:00+08:00"}


def test_hl7_control_character_in_a_value_is_quarantined(hl7_options):
    # A NUL or SOH pasted into a name (seen from old HIS terminals) cannot go into XML.
    payload = sample("hl7v2", "adt_a04_registration_gb18030.hl7").replace(b"PID|1||", b"PID|1||\x01", 1)
    (item,) = run("hl7v2", payload, hl7_options)
    assert_clean_quarantine(item, "source.value.invalid")


def test_csv_control_character_in_a_cell_is_quarantined_and_the_other_rows_pass():
    text = sample("csv", "lis_lab_results_utf8_bom.csv").decode("utf-8-sig").replace("周晓梅", "周\x00晓梅")
    items = run("csv", text.encode("utf-8"), LAB)
    assert_clean_quarantine(items[0], "source.value.invalid")
    assert items[1].problem is None


def test_database_row_with_a_nul_byte_is_quarantined():
    items = run("database", [{**LAB_ROW, "patient_name": "郑\x00浩"}], LAB)
    assert_clean_quarantine(items[0], "source.value.invalid")


def test_csv_cell_beyond_the_csv_module_limit_is_one_quarantine():
    # csv raises "field larger than field limit (131072)": a broken export, not an agent bug.
    text = sample("csv", "lis_lab_results_utf8_bom.csv").decode("utf-8-sig").replace("周晓梅", "周" * 200_000, 1)
    items = run("csv", text.encode("utf-8"), LAB)
    assert len(items) == 1 and items[0].key.startswith("sha256:")
    assert_clean_quarantine(items[0], "source.csv.malformed")


def test_database_correction_gets_a_higher_version_without_a_version_column():
    # The hub keeps the first of two documents with the same id and version ("stale"): a corrected
    # row must carry a higher version, or the correction is acknowledged and silently dropped.
    options = {**LAB, "table": "lab", "watermark": "updated_at"}
    (first,) = run("database", [LAB_ROW], options)
    (fixed,) = run("database", [{**LAB_ROW, "result": "弱阳性", "updated_at": "2026-11-22T12:00:00+08:00"}],
                   options)
    assert first.problem is None and fixed.problem is None
    assert int(value(fixed.document, "d:header/d:version")) > int(value(first.document, "d:header/d:version"))
    assert first.key != fixed.key
