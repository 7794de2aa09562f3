"""0016 adds the recall's tables and the drug workflow's pending batches (one recall per drug and batch is
the database's rule too); down again restores 0015, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hub.store.db import downgrade, make_engine, migrate

TABLES = {"workflow_recall", "workflow_recall_notice", "workflow_drug_pending"}
_RECALL = ("INSERT INTO workflow_recall (drug_code, batch_number, reason, raised_by, raised_at, confirm_by) "
           "VALUES ('YP0001', 'AMX2502123', 'x', 'BUREAU', :at, :at)")
_AT = "2026-12-01 08:00:00+00:00"


def test_0016_up_and_down(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0015")
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate(engine, "0016")
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            connection.execute(text(_RECALL), {"at": _AT})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(_RECALL), {"at": _AT})  # a second recall of the same batch
        downgrade(engine, "0015")
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
