"""A migrated store with the demo registry on each backend (SQLite and PostgreSQL), and for the end-to-end
tests a live hub (tests/exchange/conftest.py's fixtures) over a PKI of the demo region's members."""
from __future__ import annotations

from pathlib import Path

import pytest

from hub.registry import seed_demo
from hub.store.db import make_engine, session_factory, transaction
from protocol.credentials import Credentials
from tests.exchange.conftest import client_for, hub_paths, live_hub  # noqa: F401 - fixtures used here
from tests.support.hubs import member_credentials, member_pki
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated

# CLINIC01, HOSP01: district 330102; CLINIC02: 330105; BUREAU: the city; BUREAU05: a district bureau (330105)
WORKFLOW_MEMBERS = ("CLINIC01", "HOSP01", "CLINIC02", "BUREAU", "BUREAU05")


@pytest.fixture
def store(request, db_url):
    copy_migrated(request, db_url)  # at head already: nothing to migrate
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_demo(session)
    try:
        yield Store(sessions)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    return member_pki(tmp_path_factory.mktemp("workflow-pki"), hub_name="测试区域卫生信息平台",
                      members=WORKFLOW_MEMBERS)


@pytest.fixture(scope="session")
def members(pki_dir) -> dict[str, Credentials]:
    return member_credentials(pki_dir)
