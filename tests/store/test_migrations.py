"""The alembic migrations build exactly the schema the models describe, and go down again."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hub.store.db import downgrade, make_engine, migrate
from hub.store.metadata import metadata


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata())


def test_upgrade_matches_models_and_downgrade_removes_everything(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        assert _differences(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert {"inbox_message", "record_document", "record_encounter", "mpi_person"} <= tables
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)  # and up again from nothing
        assert _differences(engine) == []
    finally:
        engine.dispose()
