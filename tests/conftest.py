"""Suite-wide fixtures.

pg_server  session: a throwaway PostgreSQL on 127.0.0.1 (tests/support/pgserver.py),
           started lazily by the first test that needs it.  Missing binaries skip
           the test, except under CI=true, where they fail it.
db_url     a SQLAlchemy URL, once per backend: ``sqlite`` (file in tmp_path) and
           ``postgresql`` (a fresh database per test, dropped afterwards; marked
           ``postgres``, so ``-m "not postgres"`` deselects it).
"""

from __future__ import annotations

import pytest

try:  # first, so that what the session imports next is cached too
    from support.bytecode import share_bytecode
except ImportError:
    from tests.support.bytecode import share_bytecode

share_bytecode()  # PYTHONDONTWRITEBYTECODE: one bytecode cache for the session and the processes it starts

try:  # tests/ on sys.path: pytest's default "prepend" import mode
    from support.databases import empty_database
    from support.missing import missing
    from support.pgpool import stop_pool
    from support.pgserver import PostgresServer
except ImportError:  # tests/ imported as a package
    from tests.support.databases import empty_database
    from tests.support.missing import missing
    from tests.support.pgpool import stop_pool
    from tests.support.pgserver import PostgresServer


pytest_plugins = ["tests.support.olap_fixtures",  # chdb_dir, ch_server, ch_cluster, olap, ...
                  "tests.support.migrated",  # migrated_sqlite, migrated_postgres
                  "tests.support.regions"]  # region_dir, other_region_dir (generated small regions)


@pytest.fixture(autouse=True)
def shipped_code_lists_after():
    """Each test leaves the process on the shipped code lists: a hub or command it opened made the
    process follow that store's imported codes (``hub.codes.watch``), which no later test may see."""
    yield
    from schemas.terminology import use_additions

    use_additions(None)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (a started ``PostgresServer``)."""
    if not PostgresServer.available():
        reason = (
            "PostgreSQL server binaries not found "
            "(install them with scripts/install-system-packages.sh)"
        )
        missing(reason)
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        stop_pool(server)
        server.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request, tmp_path):
    """SQLAlchemy URL of an empty database, for each backend."""
    yield from empty_database(request, tmp_path, "hub")
