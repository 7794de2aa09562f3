"""A migrated store on each backend, a way to deliver documents as the inbox would, and ``records``:
the demo registry and one person with records at CLINIC01 and HOSP01 (for the access tests)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.mpi.resident_id import make_resident_id
from hub.records import query
from hub.registry import seed_demo
from hub.store.db import make_engine, session_factory, transaction
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated


@pytest.fixture
def store(request, db_url):
    copy_migrated(request, db_url)  # at head already: migrating again found nothing to do, in 0.05-0.15 s
    engine = make_engine(db_url)
    try:
        yield Store(session_factory(engine))
    finally:
        engine.dispose()


# synthetic person (generated for the tests, not a real person)
PATIENT = {"resident_id": make_resident_id("33010619800101002"), "name": "合成测试甲", "sex": "2",
           "birth_date": "1980-01-01", "division": "330106"}


@pytest.fixture
def records(store):
    with transaction(store.sessions) as session:
        seed_demo(session)
    store.deliver(document("OutpatientVisit", institution="CLINIC01", document_id="OV-A", patient=PATIENT),
                  member="CLINIC01")
    store.deliver(document("LabReport", institution="HOSP01", document_id="LAB-A", patient=PATIENT), member="HOSP01")
    assert store.process() == 2
    with store.sessions() as session:
        person_ids = set(session.scalars(select(query.RecordDocument.person_id)))
    assert len(person_ids) == 1, "the same resident ID links both institutions' records"
    store.person_id = person_ids.pop()
    return store
