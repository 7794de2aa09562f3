"""The versioned star schema applies on both engines, once, and renders for old and new ClickHouse."""
from __future__ import annotations

import pandas as pd
import pytest

from olap import Capabilities, SchemaError, apply_schema, current_version
from olap.schema import SCHEMA_TABLE, VERSIONS, create_table_sql, table
from olap.schema.v1 import DIMENSIONS, FACTS, TABLES

OLD, NEW = Capabilities.for_version((18, 16, 1)), Capabilities.for_version((26, 9))


def test_applies_once_and_reapplying_is_a_noop(olap):
    assert current_version(olap) == 0
    assert apply_schema(olap) == [1, 2]
    tables = olap.table_names()
    assert {t.name for t in TABLES} | {SCHEMA_TABLE.name} <= tables
    assert apply_schema(olap) == []
    assert olap.table_names() == tables
    assert len(olap.query_df("SELECT * FROM mart_schema_version")) == 2  # one row per version applied
    assert current_version(olap) == 2


def test_a_newer_mart_is_refused(olap):
    apply_schema(olap)
    olap.insert_df("mart_schema_version", pd.DataFrame({
        "schema_version": [99], "description": ["from the future"],
        "applied_at": [pd.Timestamp.now(tz="UTC")], "version": [1]}))
    with pytest.raises(SchemaError) as caught:
        apply_schema(olap)
    assert caught.value.code == "olap.schema.newer"


def test_every_fact_carries_lineage_version_and_retraction():
    for fact in FACTS:
        names = set(fact.column_names)
        assert {"fact_key", "source_id", "document_id", "message_id", "version", "deleted", "date",
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
    assert len(FACTS) == 12 and [module.VERSION for module in VERSIONS] == [1, 2]
