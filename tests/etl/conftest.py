"""An OLTP store (SQLite and PostgreSQL, ``db_url``) and an empty mart (chDB and a ClickHouse
server, ``olap``) for every ETL test, with helpers to deliver documents and read the mart exactly."""
from __future__ import annotations

import pytest

from etl import jobs
from etl.exact_facts import EXACT_FACTS
from etl.transform import Pseudonymizer
from hub.store.db import make_engine, migrate, session_factory
from olap.schema.migrate import apply_schema
from tests.exchange.conftest import foreign_pki, pki_dir  # noqa: F401  (fixtures: a hub PKI for the app tests)
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated


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


@pytest.fixture
def etl(request, db_url, olap):
    copy_migrated(request, db_url)
    engine = make_engine(db_url)
    migrate(engine)
    apply_schema(olap)
    try:
        yield Etl(Store(session_factory(engine)), olap)
    finally:
        engine.dispose()
