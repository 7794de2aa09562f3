"""The database source against real databases: a clinic table in SQLite and in PostgreSQL
(``db_url``: a fresh database per test; the PostgreSQL case is marked ``postgres``), read with
``source_query`` through SQLAlchemy, mapped by the adapter, resumed with ``next_watermark``.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, String, Table, create_engine

from adapters.sources.database import next_watermark, source_query

from .conftest import run, value

# A vaccination clinic's own table (synthetic rows; the shape of eps_immunizations_utf8.csv).
METADATA = MetaData()
VACCINATIONS = Table(
    "vaccination", METADATA,
    Column("record_id", String(20), primary_key=True), Column("id_card", String(18)), Column("child_name", String(20)),
    Column("sex", String(1)), Column("birth_date", Date), Column("vaccine_code", String(8)), Column("dose_no", Integer),
    Column("given_on", Date), Column("batch_no", String(20)), Column("updated_at", DateTime))
OPTIONS = {"document": "Immunization", "table": "vaccination", "watermark": "updated_at", "batch_size": 2,
           "key": "record_id", "fields": {
               "effective_time": "updated_at", "version": "updated_at", "patient.resident_id": "id_card",
               "patient.name": "child_name", "patient.sex": "sex", "patient.birth_date": "birth_date",
               "vaccine": {"column": "vaccine_code", "codes": {"0301": "MMR", "1801": "EV71"}},
               "doseNumber": "dose_no", "administeredOn": "given_on", "batchNumber": "batch_no"}}


def _row(record_id: str, updated: str, *, vaccine: str = "0301", dose: int = 1) -> dict:
    return {"record_id": record_id, "id_card": "330106202405100145", "child_name": "吴小雨", "sex": "2",
            "birth_date": date(2024, 5, 10), "vaccine_code": vaccine, "dose_no": dose, "given_on": date(2026, 11, 15),
            "batch_no": "MMR202604B018", "updated_at": datetime.fromisoformat(f"2026-11-15 {updated}")}


@pytest.fixture
def clinic(db_url):
    engine = create_engine(db_url)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def _insert(engine, *rows: dict) -> None:
    with engine.begin() as connection:
        connection.execute(VACCINATIONS.insert(), list(rows))


def _read(engine, options: dict, watermark=None) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(source_query(options, watermark)).mappings()]


def test_incremental_runs_keep_ties_on_the_batch_boundary(clinic):
    # C shares B's watermark; with batch_size 2 a plain "> watermark ... limit 2" would return A, B,
    # move the watermark to B's time and never return C.
    _insert(clinic, _row("A", "09:00:00"), _row("B", "09:05:00"), _row("C", "09:05:00", vaccine="1801", dose=2),
            _row("D", "09:10:00"))
    first = _read(clinic, OPTIONS)
    assert sorted(r["record_id"] for r in first) == ["A", "B", "C"]  # the tie comes whole, past batch_size
    mark = next_watermark(first, OPTIONS)
    # PostgreSQL returns a datetime, SQLite the stored text: either is bound back as it came.
    assert str(mark).startswith("2026-11-15 09:05:00")

    second = _read(clinic, OPTIONS, mark)
    assert [r["record_id"] for r in second] == ["D"]
    mark = next_watermark(second, OPTIONS, mark)

    _insert(clinic, _row("E", "09:20:00"), _row("F", "09:20:00"), _row("G", "09:30:00"))  # after the runs above
    third = _read(clinic, OPTIONS, mark)
    assert sorted(r["record_id"] for r in third) == ["E", "F"]  # G waits for the next run (batch_size 2)
    mark = next_watermark(third, OPTIONS, mark)
    assert [r["record_id"] for r in _read(clinic, OPTIONS, mark)] == ["G"]
    mark = next_watermark(_read(clinic, OPTIONS, mark), OPTIONS, mark)
    assert _read(clinic, OPTIONS, mark) == []
    assert next_watermark([], OPTIONS, mark) == mark

    every = [row["record_id"] for run_rows in (first, second, third) for row in run_rows]
    assert sorted(every) == ["A", "B", "C", "D", "E", "F"]  # each row once: nothing lost, nothing twice


def test_rows_from_the_database_become_documents(clinic):
    _insert(clinic, _row("A", "09:00:00"), _row("C", "09:05:00", vaccine="1801", dose=2))
    items = {item.key.split("@")[0]: item for item in run("database", _read(clinic, OPTIONS), OPTIONS)}
    assert all(item.problem is None for item in items.values()), [i.problem for i in items.values()]
    document = items["C"].document
    assert value(document, "d:body/d:vaccine", "code") == "EV71"
    assert value(document, "d:body/d:doseNumber") == "2"  # an integer column
    assert value(document, "d:body/d:administeredOn", "value") == "2026-11-15"  # a date column
    assert value(document, "d:header/d:effectiveTime", "value") == "2026-11-15T09:05:00+08:00"  # a timestamp
    assert value(document, "d:header/d:patient/d:birthDate", "value") == "2024-05-10"
    assert int(value(document, "d:header/d:version")) > int(value(items["A"].document, "d:header/d:version"))


def test_a_large_tie_is_read_in_one_run(clinic):
    # More rows share one value than batch_size allows: cutting them would lose some, so all come.
    _insert(clinic, *(_row(f"T{n}", "09:00:00") for n in range(5)), _row("U", "09:01:00"))
    first = _read(clinic, OPTIONS)
    assert sorted(r["record_id"] for r in first) == [f"T{n}" for n in range(5)]
    assert [r["record_id"] for r in _read(clinic, OPTIONS, next_watermark(first, OPTIONS))] == ["U"]


def test_configured_start_as_text(clinic):
    # A TOML initial_watermark is often plain text; PostgreSQL must compare it as a timestamp.
    _insert(clinic, _row("A", "09:00:00"), _row("B", "09:05:00"))
    options = {**OPTIONS, "initial_watermark": "2026-11-15 09:01:00"}
    assert [r["record_id"] for r in _read(clinic, options)] == ["B"]


def test_clinic_query_with_the_watermark_bound(clinic):
    _insert(clinic, _row("A", "09:00:00"), _row("B", "09:05:00"))
    query = {**OPTIONS, "query": "select * from vaccination where updated_at > :watermark order by updated_at",
             "initial_watermark": datetime(2026, 11, 15, 9, 0)}
    del query["table"]
    assert [r["record_id"] for r in _read(clinic, query)] == ["B"]
    assert [r["record_id"] for r in _read(clinic, query, datetime(2026, 11, 15, 9, 5))] == []
