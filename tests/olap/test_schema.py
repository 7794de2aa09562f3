"""The versioned star schema applies on both engines, once, and renders for old and new ClickHouse."""
from __future__ import annotations

import pandas as pd
import pytest

from olap import Capabilities, SchemaError, apply_schema, current_version
from olap.schema.migrate import rebuilt_at
from olap.schema import create_table_sql
from olap.schema.v1 import DIMENSIONS, FACTS, TABLES
from olap.schema.versions import SCHEMA_TABLE, VERSIONS, table

OLD, NEW = Capabilities.for_version((18, 16, 1)), Capabilities.for_version((26, 9))


def test_applies_once_and_reapplying_is_a_noop(olap):
    assert current_version(olap) == 0
    numbers = [module.VERSION for module in VERSIONS]
    assert numbers[:5] == [1, 2, 3, 4, 5] and apply_schema(olap) == numbers
    tables = olap.table_names()
    assert {t.name for t in TABLES} | {SCHEMA_TABLE.name} <= tables
    assert apply_schema(olap) == []
    assert olap.table_names() == tables
    assert len(olap.query_df("SELECT * FROM mart_schema_version")) == len(numbers)  # one row per version applied
    assert current_version(olap) == numbers[-1]


def test_an_upgrade_fills_the_rollups_it_adds_from_the_facts_already_there(olap):
    from olap.schema import v1, v2

    assert apply_schema(olap, (v1, v2)) == [1, 2]
    lines = pd.DataFrame({
        "fact_key": [f"record_medication:{i}" for i in range(6)], "source_id": range(6), "document_id": range(6),
        "message_id": range(6), "loaded_at": pd.Timestamp("2026-03-01", tz="UTC"),  # schema v1's lineage names
        "date": [pd.Timestamp(day).date() for day in ("2026-01-05", "2026-01-20", "2026-02-03", "2026-02-03",
                                                        "2026-02-28", "2026-03-01")],
        "institution_code": ["H1", "H2", "H1", "H2", "H2", "H1"], "person_key": "p1", "sex": "1",
        "age_band": "15-44", "kind": "prescription", "drug_code": ["X1", "X1", "X1", "X2", "X1", "X2"],
        "quantity": 1.0, "amount_fen": [100, 200, 300, 400, 500, 600],
        "version": 1, "deleted": [0, 0, 0, 0, 1, 0]})  # the retracted line counts nowhere
    olap.insert_df("fact_medication", lines)
    assert apply_schema(olap) == [3, 4, 5, 6, 7, 8, 9]  # 5 rebuilds the facts afterwards: the rollups keep what they hold
    cells = olap.query_df("SELECT toString(date) AS month, drug_code, lines, amount_fen FROM "
                          "rollup_medication_drug_month FINAL WHERE deleted = 0 ORDER BY month, drug_code")
    assert cells.to_dict("records") == [
        {"month": "2026-01-01", "drug_code": "X1", "lines": 2, "amount_fen": 300},
        {"month": "2026-02-01", "drug_code": "X1", "lines": 1, "amount_fen": 300},
        {"month": "2026-02-01", "drug_code": "X2", "lines": 1, "amount_fen": 400},
        {"month": "2026-03-01", "drug_code": "X2", "lines": 1, "amount_fen": 600}]


def test_a_rebuilding_version_drops_the_facts_and_says_when(olap):
    """Version 5 renames the lineage columns: the facts are dropped and created anew (the ETL reloads
    them, see tests/etl), and ``rebuilt_at`` tells when."""
    from olap.schema import v1, v2, v3, v4

    assert apply_schema(olap, (v1, v2, v3, v4)) == [1, 2, 3, 4]
    assert rebuilt_at(olap) is None
    row = {"fact_key": "record_lab_result:1", "date": pd.Timestamp("2026-03-01").date(), "institution_code": "H1",
           "source_id": 1, "document_id": 2, "message_id": 3, "loaded_at": pd.Timestamp("2026-03-01", tz="UTC"),
           "person_key": "p", "sex": "1", "age_band": "15-44", "test_code": "T", "is_abnormal": 0, "version": 1,
           "deleted": 0}
    columns = set(olap.query_df("SELECT name FROM system.columns WHERE database = {db:String} AND "
                                "table = 'fact_lab_test'", {"db": olap.database})["name"])
    olap.insert_df("fact_lab_test", pd.DataFrame([{k: v for k, v in row.items() if k in columns}]))
    before = pd.Timestamp.now(tz="UTC").floor("s")
    assert apply_schema(olap) == [5, 6, 7, 8, 9]
    at = rebuilt_at(olap)
    assert at is not None and before <= pd.Timestamp(at) <= pd.Timestamp.now(tz="UTC")
    columns = set(olap.query_df("SELECT name FROM system.columns WHERE database = {db:String} AND "
                                "table = 'fact_lab_test'", {"db": olap.database})["name"])
    assert {"source_row_id", "document_row_id", "message_row_id"} <= columns
    assert not {"source_id", "document_id", "message_id"} & columns
    assert len(olap.query_df("SELECT * FROM fact_lab_test")) == 0
    assert apply_schema(olap) == [] and rebuilt_at(olap) == at  # applied once


def test_a_newer_mart_is_refused(olap):
    apply_schema(olap)
    olap.insert_df("mart_schema_version", pd.DataFrame({
        "schema_version": [99], "description": ["from the future"],
        "applied_at": [pd.Timestamp.now(tz="UTC")], "version": [1]}))
    with pytest.raises(SchemaError) as caught:
        apply_schema(olap)
    assert caught.value.code == "olap.schema.newer"


def test_every_fact_carries_lineage_version_and_retraction():
    for fact in (table(declared.name) for declared in FACTS):  # the latest declaration of each
        names = set(fact.column_names)
        assert {"fact_key", "source_row_id", "document_row_id", "message_row_id", "version", "deleted", "date",
                "institution_code"} <= names, fact.name
        assert fact.order_by == ("institution_code", "date", "fact_key")
        assert fact.shard_key == "sipHash64(fact_key)"


def test_no_identifying_person_columns():
    forbidden = ("name", "id_number", "resident_id", "birth_date", "phone", "address", "identifier")
    for declared in (table("dim_person"), *FACTS):
        for column in declared.column_names:
            assert not any(word in column for word in forbidden) or column.endswith("_code") or \
                column in ("name",) and declared.name != "dim_person", (declared.name, column)
    assert set(table("dim_person").column_names) == {"person_key", "sex", "age_band", "division_code",
                                                     "version", "deleted"}


def test_lowcardinality_falls_back_to_the_plain_type_on_18_16():
    fact = table("fact_outpatient_visit")
    assert "LowCardinality(String)" in create_table_sql(fact, NEW)
    old = create_table_sql(fact, OLD)
    assert "LowCardinality" not in old
    assert "ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(date)\n" \
           "ORDER BY (institution_code, date, fact_key)" in old


def test_declarations_are_consistent():
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names))
    assert {d.name for d in DIMENSIONS} >= {"dim_date", "dim_institution", "dim_diagnosis", "dim_disease",
                                            "dim_drug", "dim_person"}
    assert len(FACTS) == 12 and [module.VERSION for module in VERSIONS] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
