"""A migrated store with the demo registry on each backend (SQLite and PostgreSQL), and for the end-to-end
tests a live hub (tests/exchange/conftest.py's fixtures) over a PKI of the demo region's members."""
from __future__ import annotations

from pathlib import Path

import pytest

from certs import init_pki, issue_member
from hub.registry import seed_demo
from hub.store.db import make_engine, migrate, session_factory, transaction
from protocol.credentials import Credentials
from tests.exchange.conftest import client_for, hub_paths, live_hub  # noqa: F401 - fixtures used here
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated

# CLINIC01, HOSP01: district 330102; CLINIC02: 330105; BUREAU: the city; BUREAU05: a district bureau (330105)
WORKFLOW_MEMBERS = ("CLINIC01", "HOSP01", "CLINIC02", "BUREAU", "BUREAU05")


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


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("workflow-pki")
    init_pki(root, hub_name="测试区域卫生信息平台")
    for member in WORKFLOW_MEMBERS:
        issue_member(root, member=member)
    return root


@pytest.fixture(scope="session")
def members(pki_dir) -> dict[str, Credentials]:
    return {member.name: Credentials.from_files(member / "cert.pem", member / "key.pem")
            for member in sorted((pki_dir / "members").iterdir())}
