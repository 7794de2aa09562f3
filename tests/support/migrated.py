"""A migrated hub database in a test's empty one, copied rather than migrated again.

Running the migrations took 0.5–3 s per database on the 2 shared cores (SQLite; more under load),
and the exchange fixtures made one or two per test and backend. A session migrates one database per
backend; each test's database (``db_url``: SQLite file or PostgreSQL database, still the test's own)
becomes a copy of it, already at head: the fixtures do not migrate it again (``Hub.open(...,
run_migrations=False)``), which found nothing to do in 0.05–0.15 s a test here.
"""
from __future__ import annotations

import sqlite3
import uuid

import pytest
from sqlalchemy.engine import make_url

from hub.store.db import make_engine, migrate, session_factory

from .pgpool import replace_later, take


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> str:
    """Path of a SQLite hub database migrated to head."""
    path = tmp_path_factory.mktemp("migrated") / "hub.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def migrated_postgres(pg_server) -> str:
    """Name of a PostgreSQL database migrated to head (a template: nobody connects to it after)."""
    name = f"migrated_{uuid.uuid4().hex[:12]}"
    engine = make_engine(pg_server.create_database(name))
    migrate(engine)
    engine.dispose()
    return name


@pytest.fixture
def migrated_sessions(request, db_url):
    """A session factory on the test's ``db_url``, made a copy of the session's migrated database."""
    engine = migrated_engine(request, db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def migrated_engine(request, db_url: str):
    """An engine on ``db_url``, an empty database made a copy of the session's migrated one (what
    ``make_engine`` then ``migrate`` gave, without running the migrations again)."""
    copy_migrated(request, db_url)
    return make_engine(db_url)


def copy_migrated(request, db_url: str) -> None:
    """Make the empty database ``db_url`` a copy of the session's migrated one for its backend."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(request.getfixturevalue("migrated_sqlite")) as source, \
                sqlite3.connect(url.database) as target:
            source.backup(target)
        source.close()
        target.close()
        return
    template = request.getfixturevalue("migrated_postgres")
    server = request.getfixturevalue("pg_server")
    replace_later(server, url.database)  # the empty one renamed aside and dropped in the background
    take(server, url.database, template=template)  # a copy made ahead of time (tests/support/pgpool.py)
