"""A migrated store on each backend, and a way to deliver documents as the inbox would."""
from __future__ import annotations

import pytest

from hub.store.db import make_engine, migrate, session_factory
from tests.support.inbox import Store


@pytest.fixture
def store(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield Store(session_factory(engine))
    finally:
        engine.dispose()
