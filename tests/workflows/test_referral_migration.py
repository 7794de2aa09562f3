"""0015 adds the referral cases and their history; one live (not redirected) case per referral document is
the database's rule too; down again restores 0014 (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hub.store.db import downgrade, make_engine, migrate
from tests.support.documents import document
from tests.support.inbox import Store

TABLES = {"workflow_referral", "workflow_referral_event"}
_CASE = ("INSERT INTO workflow_referral (document_row_id, from_institution, to_institution, state, requested_at, "
         "updated_at) VALUES (:document, 'CLINIC01', :to, :state, :at, :at)")
_AT = "2026-12-01 08:00:00+00:00"


def test_0015_up_and_down(db_url):
    from hub.store.db import session_factory

    engine = make_engine(db_url)
    try:
        migrate(engine, "0014")
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate(engine, "0015")
        assert TABLES <= set(inspect(engine).get_table_names())
        migrate(engine)  # the stored document through today's code (its inbox is the head's), then back to 0015
        store = Store(session_factory(engine))
        store.deliver(document("Referral", document_id="REF-M"))
        store.process()
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM workflow_referral_event"))
            connection.execute(text("DELETE FROM workflow_referral"))
        downgrade(engine, "0015")
        with engine.begin() as connection:
            row = connection.execute(text("SELECT id FROM record_document")).scalar_one()
            connection.execute(text(_CASE), {"document": row, "to": "HOSP01", "state": "redirected", "at": _AT})
            connection.execute(text(_CASE), {"document": row, "to": "HOSP02", "state": "requested", "at": _AT})
        with pytest.raises(IntegrityError), engine.begin() as connection:  # a second live case of the document
            connection.execute(text(_CASE), {"document": row, "to": "HOSP03", "state": "accepted", "at": _AT})
        downgrade(engine, "0014")
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
