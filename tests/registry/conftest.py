"""Registry tables (and audit_event) on each backend, optionally with the demo region seeded."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.registry import Actor, seed_demo
from hub.store.db import make_engine, session_factory, transaction
from tests.support.migrated import copy_migrated

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
BUREAU = Actor(member="BUREAU")


@pytest.fixture
def sessions(request, db_url):
    copy_migrated(request, db_url)  # the real schema, as the hub builds it (a copy of the migrated one)
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def seeded(sessions):
    with transaction(sessions) as session:
        seed_demo(session, now=NOW)
    return sessions


@pytest.fixture
def hub(seeded):
    """What the transports need of the Hub: ``.sessions``."""
    return SimpleNamespace(sessions=seeded, certificates=None)


def audit_rows(sessions, prefix: str = "registry.") -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type.startswith(prefix))
                                    .order_by(AuditEvent.id)))
