"""0013 adds the workflows' tables and swaps record_document's index by type for (type, updated_at, id);
one live alert per kind and key is the database's rule too; down again restores 0012, on SQLite and
PostgreSQL (tests/store/test_migrations.py checks that the head matches the models)."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hub.store.db import downgrade, make_engine, migrate

TABLES = {"workflow_watermark", "workflow_alert", "workflow_alert_event", "workflow_subscription"}
_ALERT = ("INSERT INTO workflow_alert (kind, key, owner, state, count, facts, opened_at, updated_at, last_seen_at) "
          "VALUES ('disease.class_a', '101:330102', 'bureau', :state, 1, '{}', :at, :at, :at)")
_AT = "2026-12-01 08:00:00+00:00"


def _indexes(engine) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes("record_document")}


def test_0013_up_and_down(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0012")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert "ix_record_document_document_type" in _indexes(engine)
        migrate(engine, "0013")
        assert TABLES <= set(inspect(engine).get_table_names())
        assert "ix_record_document_type_updated" in _indexes(engine)
        assert "ix_record_document_document_type" not in _indexes(engine)
        with engine.begin() as connection:
            connection.execute(text(_ALERT), {"state": "closed", "at": _AT})
            connection.execute(text(_ALERT), {"state": "closed", "at": _AT})  # closed incidents: any number
            connection.execute(text(_ALERT), {"state": "open", "at": _AT})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(_ALERT), {"state": "acknowledged", "at": _AT})  # a second live one
        downgrade(engine, "0012")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert "ix_record_document_document_type" in _indexes(engine)
    finally:
        engine.dispose()
