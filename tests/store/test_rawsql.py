"""The driver-level SQL of the hot paths behaves like SQLAlchemy's on both backends."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree
from sqlalchemy.exc import IntegrityError

from hub.errors import failure_summary
from hub.exchange.replies import acknowledgement
from hub.store.db import make_engine, session_factory, transaction
from hub.store.rawsql import RawSql
from protocol.ns import HIE, q
from tests.support.migrated import copy_migrated


@pytest.fixture
def sessions(request, db_url):
    copy_migrated(request, db_url)  # a copy of the session's migrated database, not migrated again
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


_INSERT = "INSERT INTO mpi_identifier (person_id, kind, root, value) VALUES (?, ?, ?, ?)"
_PERSON = ("INSERT INTO mpi_person (status, merged_into_id, created_at, updated_at) "
           "VALUES ('active', NULL, ?, ?)")


def test_insert_id_returns_the_new_rows_id(sessions):
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with transaction(sessions) as session:
        sql = RawSql(session)
        first = sql.insert_id(_PERSON, (sql.time(now), sql.time(now)))
        second = sql.insert_id(_PERSON, (sql.time(now), sql.time(now)))
        assert second == first + 1
        assert [row[0] for row in sql.rows("SELECT id FROM mpi_person ORDER BY id")] == [first, second]


def test_driver_errors_are_sqlalchemy_errors_without_values(sessions):
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with transaction(sessions) as session:
        sql = RawSql(session)
        person = sql.insert_id(_PERSON, (sql.time(now), sql.time(now)))
        sql.execute(_INSERT, (person, "resident_id", "2.16.156.10011.1.3", "SYNTHETIC-0001"))
    for run in (lambda sql: sql.execute(_INSERT, (person, "resident_id", "2.16.156.10011.1.3", "SYNTHETIC-0001")),
                lambda sql: sql.many(_INSERT, [(person, "resident_id", "2.16.156.10011.1.3", "SYNTHETIC-0001")])):
        with pytest.raises(IntegrityError) as raised, transaction(sessions) as session:
            run(RawSql(session))
        assert "[parameters:" not in str(raised.value)  # SQLAlchemy shows no parameters...
        summary = failure_summary(raised.value)  # ...and what the hub logs has neither them nor the
        assert summary.startswith("IntegrityError [") and "SYNTHETIC" not in summary  # server's message
        assert "test_rawsql.py" in summary or "rawsql.py" in summary


@pytest.mark.parametrize("values", [
    {"message_id": "urn:uuid:1", "status": "processed"},
    {"message_id": "m-1 & <x> 'y' \"z\"", "status": "rejected", "code": "record.code.unknown",
     "field": "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension"},
    {"message_id": "病历-甲", "status": "rejected", "code": "record.schema.invalid", "field": "/A/b[2]"},
])
def test_acknowledgement_text_is_what_lxml_would_write(values):
    ack = etree.Element(q(HIE, "Acknowledgement"), nsmap={"hie": HIE})
    for local, key in (("MessageId", "message_id"), ("Status", "status"), ("Code", "code")):
        etree.SubElement(ack, q(HIE, local)).text = values.get(key, "")
    if values.get("field"):
        etree.SubElement(ack, q(HIE, "Field")).text = values["field"]
    assert acknowledgement(**values) == etree.tostring(ack, encoding="utf-8")
