"""0010 adds ``registry_population`` (one row per division and year) and removes it again, on SQLite
and PostgreSQL; tests/store/test_migrations.py checks that the head matches the models."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hub.store.db import downgrade, make_engine, migrate

_ROW = ("INSERT INTO registry_population (division_code, year, population, live_births, children_under_7, source, "
        "updated_at) VALUES ('330102', 2026, :population, 8730, 80580, '统计年鉴', '2026-01-02 03:04:05+00:00')")


def test_0010_adds_the_population_table_keyed_by_division_and_year(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0009")
        assert "registry_population" not in inspect(engine).get_table_names()
        migrate(engine, "0010")
        assert inspect(engine).get_pk_constraint("registry_population")["constrained_columns"] == [
            "division_code", "year"]
        with engine.begin() as connection:
            connection.execute(text(_ROW), {"population": 1_343_000})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(_ROW), {"population": 1})
        with engine.connect() as connection:
            assert connection.execute(text("SELECT population FROM registry_population")).scalars().all() == [
                1_343_000]
        downgrade(engine, "0009")
        assert "registry_population" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
