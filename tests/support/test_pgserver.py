"""The test-database fixtures themselves: tests/conftest.py and support/pgserver.py."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from .pgserver import PostgresServer

FACILITY = "社区卫生服务中心"


def test_db_url_roundtrips_chinese_text(db_url):
    metadata = sa.MetaData()
    facility = sa.Table(
        "facility",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    engine = sa.create_engine(db_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(facility.insert(), [{"id": 1, "name": FACILITY}])
        with engine.connect() as conn:
            assert conn.execute(sa.select(facility.c.name)).scalar_one() == FACILITY
            found = conn.execute(
                sa.select(facility.c.id).where(facility.c.name.like("%卫生%"))
            ).scalar_one()
            assert found == 1
            assert conn.execute(sa.select(sa.func.length(facility.c.name))).scalar_one() == 8
    finally:
        engine.dispose()


def test_db_url_gives_each_test_an_empty_database(db_url):
    engine = sa.create_engine(db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_session_server_settings(pg_server):
    with psycopg.connect(**pg_server.connect_kwargs()) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("fsync", "server_encoding", "listen_addresses")
        }
    assert settings == {"fsync": "on", "server_encoding": "UTF8", "listen_addresses": "127.0.0.1"}
    assert pg_server.url("x") == f"postgresql+psycopg://postgres@127.0.0.1:{pg_server.port}/x"


@pytest.mark.postgres
def test_create_and_drop_database(pg_server):
    def exists(name):
        with psycopg.connect(**pg_server.connect_kwargs()) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None

    url = pg_server.create_database("pgserver_selftest")
    try:
        assert exists("pgserver_selftest")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "pgserver_selftest"
        # The engine's pool still holds an open connection: the drop must not block.
        pg_server.drop_database("pgserver_selftest")
        engine.dispose()
        assert not exists("pgserver_selftest")
    finally:
        pg_server.drop_database("pgserver_selftest")
    with pytest.raises(ValueError):
        pg_server.create_database('bad"name')


@pytest.mark.postgres
def test_context_manager_stops_server_and_removes_directory(pg_server):
    # pg_server only for its skip / CI-fail behaviour; this starts a second cluster.
    with PostgresServer() as server:
        base, port = server.base_dir, server.port
        assert port != pg_server.port
        assert (base / "data" / "PG_VERSION").is_file()
        with psycopg.connect(**server.connect_kwargs()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not base.exists()
    assert server.port is None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2)
