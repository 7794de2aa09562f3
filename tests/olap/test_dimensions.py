"""Dimension frames from the code lists and the registry; idempotent loads; hierarchies roll up."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa

from hub.registry.models import TABLES as REGISTRY_TABLES
from olap import apply_schema
from olap.dimensions import (
    date_dimension, diagnosis_dimension, disease_dimension, division_dimension, drug_dimension, icd10_hierarchy,
    institution_dimension, load_dimension,
)


def test_icd10_codes_roll_up_to_block_and_chapter():
    listed = icd10_hierarchy("A06.0")
    assert (listed["category_code"], listed["block_code"], listed["chapter_code"]) == ("A06", "A00-A09", "I")
    assert listed["listed"] == 1
    unlisted = icd10_hierarchy("J12.1")  # neither it nor J12 listed: placed by the block ranges
    assert (unlisted["block_code"], unlisted["chapter_code"], unlisted["listed"]) == ("J09-J18", "X", 0)
    assert icd10_hierarchy("C34.1")["chapter_code"] == "II"


def test_date_dimension_weeks_and_quarters():
    days = date_dimension(date(2023, 12, 31), date(2024, 1, 1)).set_index("date")
    sunday, monday = days.iloc[0], days.iloc[1]
    assert (sunday["iso_year"], sunday["iso_week"], sunday["day_of_week"], sunday["is_weekend"]) == (2023, 52, 7, 1)
    assert (monday["iso_year"], monday["iso_week"], monday["quarter"], monday["year_month"]) == (2024, 1, 1, 202401)
    assert monday["week_start"].date() == date(2024, 1, 1)


def test_code_list_dimensions():
    diseases = disease_dimension().set_index("code")
    assert diseases.loc["101", "class_name"] == "甲类"
    drugs = drug_dimension().set_index("code")
    assert drugs.loc["YP0001", "is_antibiotic"] == 1 and drugs.loc["YP0001", "category_code"] == "J"
    assert drugs.loc["YP0045", "category_code"] == "none"
    divisions = division_dimension().set_index("code")
    assert divisions.loc["330106", "city_code"] == "330100"
    assert divisions.loc["330182", "district_code"] == "330182"


def _registry(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/registry.db")
    metadata = REGISTRY_TABLES[0].metadata
    metadata.create_all(engine, tables=REGISTRY_TABLES)
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(REGISTRY_TABLES[0].insert(), [
            {"code": "330100", "name": "杭州市", "level": "city", "parent_code": None},
            {"code": "330106", "name": "西湖区", "level": "district", "parent_code": "330100"}])
        conn.execute(REGISTRY_TABLES[1].insert(), [{
            "code": "H001", "name": "西湖区人民医院", "kind": "hospital", "level": "2", "division_code": "330106",
            "parent_code": None, "status": "active", "created_at": now, "updated_at": now}])
        conn.execute(REGISTRY_TABLES[2].insert(), [{
            "institution_code": "H001", "code": "NK", "name": "内科", "standard_code": "03", "status": "active",
            "created_at": now, "updated_at": now}])
    return engine


def test_institution_hierarchy_from_the_registry(tmp_path, olap):
    engine = _registry(tmp_path)
    with engine.connect() as conn:
        frame = institution_dimension(conn)
    engine.dispose()
    assert sorted(frame["department_code"]) == ["", "NK"]
    row = frame[frame["department_code"] == "NK"].iloc[0]
    assert (row["district_name"], row["city_name"], row["standard_department_name"]) == ("西湖区", "杭州市", "内科")

    apply_schema(olap)
    first = load_dimension(olap, "dim_institution", frame)
    assert (first.written, first.retracted) == (2, 0)
    assert load_dimension(olap, "dim_institution", frame).written == 0
    renamed = frame.assign(institution_name="西湖区第一人民医院")
    assert load_dimension(olap, "dim_institution", renamed).written == 2
    closed = load_dimension(olap, "dim_institution", renamed[renamed["department_code"] == ""])
    assert (closed.written, closed.retracted) == (0, 1)
    live = olap.query_df("SELECT department_code, institution_name FROM dim_institution FINAL WHERE deleted = 0")
    assert live.to_dict("records") == [{"department_code": "", "institution_name": "西湖区第一人民医院"}]


def test_loaded_diagnoses_roll_up_in_sql(olap):
    apply_schema(olap)
    frame = diagnosis_dimension(["J18.9", "J18.0"])
    assert load_dimension(olap, "dim_diagnosis", frame).written == len(frame) > 100
    assert load_dimension(olap, "dim_diagnosis", frame).written == 0
    chapters = olap.query_df(
        "SELECT chapter_code, count() AS n FROM dim_diagnosis FINAL WHERE deleted = 0 "
        "AND category_code = {c:String} GROUP BY chapter_code", {"c": "J18"})
    in_j18 = int((frame["category_code"] == "J18").sum())
    assert in_j18 >= 3 and chapters.to_dict("records") == [{"chapter_code": "X", "n": in_j18}]
    assert load_dimension(olap, "dim_date", date_dimension(date(2024, 1, 1), date(2024, 12, 31))).written == 366
    quarters = olap.query_df("SELECT quarter, count() AS days FROM dim_date FINAL WHERE deleted = 0 "
                             "GROUP BY quarter ORDER BY quarter")
    assert quarters["days"].tolist() == [91, 91, 92, 92]
