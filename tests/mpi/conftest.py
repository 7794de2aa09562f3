"""MPI fixtures: an empty store (every table of hub.store.metadata) on SQLite and PostgreSQL, plus a
stand-in health-record table (``mpi_test_visit``) with person_id + patient_record_id, registered on
``Base.metadata`` for the test only and removed afterwards (migrations must not see it)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from hub.mpi import PatientTraits
from hub.store.db import make_engine, session_factory
from hub.store.metadata import metadata

NOW = datetime(2024, 6, 1, 8, 0, tzinfo=timezone.utc)
RESIDENT_ROOT = "2.16.156.10011.1.3"

# SYNTHETIC test people (resident IDs generated with valid check characters; phones use the
# non-existent mobile prefix 100).
ZHANG_ID = "330102198503120014"   # 1985-03-12, male
LI_ID = "330106199007080025"      # 1990-07-08, female


def traits(*ids, name=None, sex=None, born=None, phone=None, division=None, address=None) -> PatientTraits:
    return PatientTraits(tuple(ids), name=name, sex=sex, birth_date=date.fromisoformat(born) if born else None,
                         phone=phone, division=division, address=address)


def rid(value: str, root: str = RESIDENT_ROOT) -> tuple[str, str, str]:
    return ("resident_id", root, value)


def opd(value: str, institution: str = "syn001") -> tuple[str, str, str]:
    return ("outpatient_no", f"2.16.156.10011.1.11.{institution}", value)


@pytest.fixture
def visit_table():
    meta = metadata()
    table = Table("mpi_test_visit", meta,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("person_id", ForeignKey("mpi_person.id"), nullable=False),
                  Column("patient_record_id", ForeignKey("mpi_patient_record.id"), nullable=False),
                  Column("note", String(40)))
    try:
        yield table
    finally:
        meta.remove(table)


@pytest.fixture
def sessions(db_url, visit_table):
    """A session factory on a fresh database holding every table (and the stand-in visit table)."""
    engine = make_engine(db_url)
    metadata().create_all(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()
