"""An OLTP store and a mart for the ETL tests, with helpers to deliver documents and read the mart exactly.

``etl``          function: an empty store and an empty mart for each of the four pairs, SQLite and
                 PostgreSQL (``db_url``) × chDB and a ClickHouse server (``olap``).
``etl_dialects`` function: the same on two pairs, the embedded default (SQLite × chDB) and the server
                 pair (PostgreSQL × ClickHouse server): every dialect of either side runs once. For the
                 behaviours whose SQL is the OLTP reader's or the mart's, where the cross product adds
                 only time.
``module_etl``   module: ``etl_dialects`` shared by a module's tests that only read what a module
                 fixture loaded into it (a load is most of such a test's time).
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

from etl import jobs
from etl.exact_facts import EXACT_FACTS
from etl.transform import Pseudonymizer
from hub.store.db import make_engine, session_factory
from olap import ChdbBackend, ServerBackend
from olap.schema.migrate import apply_schema
from tests.exchange.conftest import foreign_pki, pki_dir  # noqa: F401  (fixtures: a hub PKI for the app tests)
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated
from tests.support.pgpool import drop_later, take


class Etl:
    def __init__(self, store: Store, mart):
        self.store, self.mart = store, mart
        self.pseudonymize = Pseudonymizer(b"etl-test-key-0123456789abcdef012")

    def deliver(self, *documents, member: str = "CLINIC01") -> list[int]:
        ids = self.store.deliver(*documents, member=member)
        self.store.process()
        return ids

    def run(self, **kwargs) -> jobs.RunResult:
        return jobs.run_incremental(self.store.sessions, self.mart, self.pseudonymize, **kwargs)

    def live(self, fact: str, columns: str = "*", condition: str = "1 = 1"):
        return self.mart.query_df(EXACT_FACTS.format(columns=columns, table=fact, condition=condition))

    def count(self, fact: str) -> int:
        return len(self.live(fact, "fact_key"))


@contextmanager
def _etl_on(request, db_url: str, mart):
    copy_migrated(request, db_url)  # at head already: migrating again found nothing to do, in 0.05-0.15 s
    engine = make_engine(db_url)
    apply_schema(mart)
    try:
        yield Etl(Store(session_factory(engine)), mart)
    finally:
        engine.dispose()


@pytest.fixture
def etl(request, db_url, olap):
    with _etl_on(request, db_url, olap) as made:
        yield made


DIALECTS = [pytest.param(("sqlite", "chdb"), id="sqlite-chdb"),
            pytest.param(("postgresql", "server"), id="postgresql-server",
                         marks=(pytest.mark.postgres, pytest.mark.clickhouse))]


@contextmanager
def _etl_pair(request, directory, pair: tuple[str, str]):
    """A fresh store and mart on ``pair`` (database, mart engine), dropped afterwards."""
    database, engine = pair
    name = f"t_{uuid.uuid4().hex[:12]}"
    if database == "sqlite":
        db_url, server = f"sqlite:///{directory}/hub.db", None
    else:
        server = request.getfixturevalue("pg_server")
        db_url = take(server, name)  # a spare made ahead of time
    if engine == "chdb":
        mart = ChdbBackend(request.getfixturevalue("chdb_dir"), database=name)
    else:
        ch_server = request.getfixturevalue("ch_server")
        mart = ServerBackend(ch_server.host, ch_server.tcp_port, database=name)
    try:
        with _etl_on(request, db_url, mart) as made:
            yield made
    finally:
        mart.drop_database()
        mart.close()
        if server is not None:
            drop_later(server, name)  # while the next test runs (tests/support/pgpool.py)


@pytest.fixture(params=DIALECTS)
def etl_dialects(request, tmp_path):
    with _etl_pair(request, tmp_path, request.param) as made:
        yield made


@pytest.fixture(scope="module", params=DIALECTS)
def module_etl(request, tmp_path_factory):
    with _etl_pair(request, tmp_path_factory.mktemp("etl"), request.param) as made:
        yield made
