"""A migrated store with the demo registry on each backend (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from hub.registry import seed_demo
from hub.store.db import make_engine, migrate, session_factory, transaction
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated


@pytest.fixture
def store(request, db_url):
    copy_migrated(request, db_url)
    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_demo(session)
    try:
        yield Store(sessions)
    finally:
        engine.dispose()
