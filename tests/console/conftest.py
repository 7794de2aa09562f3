"""A hub serving the console on 127.0.0.1 with real data, and a headless Chromium to drive it.

``console_hub``  module: the cube tests' region (tests/cubes/conftest.py: documents put straight into
                 the inbox, tests/support/inbox.py, then the processor) copied into the hub's own data directory,
                 its mart filled by the ETL in embedded chDB, console users and members' bearer
                 tokens added, the whole app (``create_app``) served by uvicorn in a thread. Every module
                 on the default settings gets the same one (``shared_console_hub``, package-scoped: set up
                 once, as its setup is most of a module's time); a module that overrides
                 ``console_settings`` gets a hub of its own.
``console_settings``  module: settings of ``console_hub`` beyond its defaults (a module may override it).
``exchange_region``  module: a hub the test starts, and the same scenario sent to it through the signed
                 SOAP exchange by its members (their own certificates), processed by its processor.
``exchange_hub`` module, per engine: that hub serving the console on a mart the ETL filled from it, in
                 embedded chDB and on a ClickHouse server (``clickhouse``).
``browser``      package: Debian's chromium through Playwright (nothing downloaded); the browser
                 tests are skipped, saying why, when it is absent.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import delete, func, select

from certs import PkiPaths, init_pki, issue_member
from hub.auth import issue
from hub.exchange.models import Message
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.db import transaction
from hub.web.app import create_app
from hub.web.console.models import ConsoleLoginAttempt
from hub.web.console.users import create
from olap import ChdbBackend, ServerBackend
from protocol.credentials import Credentials
from protocol.status import MessageStatus
from protocol.timestamps import utcnow
from tests.cubes.checks import fill_mart
from tests.cubes.conftest import region  # noqa: F401  (fixture: the filled region)
from tests.exchange.conftest import pki_dir  # noqa: F401  (fixture: the hub's PKI)
from tests.support.documents import document
from tests.support.hubs import served
from tests.support.migrated import copy_migrated
from tests.support.missing import missing

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"  # git-ignored screenshots
PASSWORD = "correct horse battery"
# username: (role, region, institution); the members with the same scope (for the cube API) beside them
USERS = {"city": ("analyst", "330100", None), "xihu": ("analyst", "330106", None),
         "h01admin": ("institution_admin", None, "H01"), "gone": ("analyst", "330106", None)}
EQUIVALENT_MEMBER = {"city": "B01", "xihu": "B02", "h01admin": "H01"}


@dataclass
class ConsoleHub:
    url: str
    hub: Hub
    mart: object
    tokens: dict[str, str] = field(default_factory=dict)  # member -> bearer token

    def cube(self, member: str, cube: str, body: dict) -> dict:
        """The cube API's answer to ``member`` (bearer token)."""
        response = requests.post(f"{self.url}/api/cubes/{cube}/query", json=body, timeout=30,
                                 headers={"Authorization": f"Bearer {self.tokens[member]}"})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def console_settings() -> dict:
    """Settings of ``console_hub`` beyond the defaults; a test module may override this fixture."""
    return {}


@pytest.fixture(scope="package")
def shared_console_hub(tmp_path_factory, region, pki_dir, chdb_dir):  # noqa: F811
    """``console_hub`` on the default settings, set up once for every module of the package that keeps
    them: the modules only add what they need beside the data (their own users, sessions, messages)."""
    with _console_hub(tmp_path_factory, region, pki_dir, chdb_dir, {}) as hub:
        yield hub


@pytest.fixture(scope="module")
def console_hub(request, tmp_path_factory, region, pki_dir, chdb_dir, console_settings):  # noqa: F811
    """The package's shared hub, or a hub of the module's own when it overrides ``console_settings``."""
    if not console_settings:
        shared = request.getfixturevalue("shared_console_hub")
        yield shared
        _forget_sign_in_attempts(shared)
        return
    with _console_hub(tmp_path_factory, region, pki_dir, chdb_dir, console_settings) as hub:
        yield hub


@contextmanager
def _console_hub(tmp_path_factory, region, pki_dir, chdb_dir, console_settings: dict):  # noqa: F811
    data_dir = tmp_path_factory.mktemp("console-hub")
    source = sqlite3.connect(region.engine.url.database)
    with sqlite3.connect(data_dir / "hub.db") as copy:
        source.backup(copy)
    source.close()
    settings = Settings(data_dir=data_dir, pki_dir=pki_dir, start_processor=False, etl_interval_s=0,
                        **{"console_session_minutes": 30, **console_settings})
    hub = Hub.open(settings)  # migrates the copy: the console's tables (0006)
    mart = ChdbBackend(chdb_dir, database=f"console_{uuid.uuid4().hex[:10]}")
    fill_mart(mart, region)
    tokens = _add_users(hub)
    app = create_app(settings, hub=hub)
    app.state.mart = mart
    try:
        with served(app) as url:
            yield ConsoleHub(url, hub, mart, tokens)
    finally:
        mart.drop_database()
        mart.close()
        hub.sessions.kw["bind"].dispose()


def _forget_sign_in_attempts(console: ConsoleHub) -> None:
    """The throttle's record of failed sign-ins (all from 127.0.0.1): one module's must neither slow nor
    refuse the next module's sign-ins, as with a hub of its own."""
    with transaction(console.hub.sessions) as session:
        session.execute(delete(ConsoleLoginAttempt))


@dataclass
class ExchangeRegion:
    """The cube tests' scenario sent through the signed SOAP exchange to a running hub."""

    url: str
    hub: Hub
    app: object
    tokens: dict[str, str]
    today: date
    sent: dict[str, int]  # member -> documents sent (each accepted with a signed receipt)
    seconds: float  # from the first batch sent to the last message processed


@pytest.fixture(scope="module")
def exchange_region(request, tmp_path_factory):
    """A hub started by the test (its processor running) and the cube tests' scenario (≈ 600 documents
    and a bad one) sent to it by its members: each batch encrypted for the hub and signed with the
    member's own certificate (``adapters.client.HubClient.submit_batch``), answered with signed
    receipts, then processed by the hub's processor. The members' certificates are issued by a PKI of
    its own (the exchange tests' ``pki_dir`` stays as those tests expect it)."""
    from tests.cubes.conftest import _seed_registry
    from tests.cubes.scenario import Scenario

    data_dir = tmp_path_factory.mktemp("exchange-hub")
    init_pki(data_dir / "pki", hub_name="测试区域卫生信息平台")
    scenario = Scenario().build()
    bad = document("OutpatientVisit", institution="C03", document_id="C03-BAD-1")
    bad.find("{urn:hie:doc:v1}body/{urn:hie:doc:v1}department").set("code", "99.99")  # not in the code list
    scenario.documents["C03"].append(bad)  # stored with its receipt, refused by the processor
    for member in scenario.documents:  # EC keys are quick to make; H01 signs with RSA, as hospitals often do
        issue_member(data_dir / "pki", member=member, key_type="rsa-2048" if member == "H01" else "ec-p256")
    settings = Settings(data_dir=data_dir, start_processor=True, processing_interval_s=0.1, etl_interval_s=0,
                        console_session_minutes=30)
    copy_migrated(request, settings.db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    _seed_registry(hub.sessions.kw["bind"])
    tokens = _add_users(hub)
    app = create_app(settings, hub=hub)
    try:
        with served(app) as url:
            started = time.perf_counter()
            sent = _send(url, PkiPaths.of(data_dir / "pki"), scenario.documents)
            _wait_processed(hub, deadline=time.monotonic() + 120)
            yield ExchangeRegion(url, hub, app, tokens, (datetime.now(timezone.utc) + timedelta(hours=8)).date(),
                                 sent, time.perf_counter() - started)
    finally:
        hub.sessions.kw["bind"].dispose()


def _send(url: str, paths: PkiPaths, documents: dict[str, list], *, batch: int = 100) -> dict[str, int]:
    from adapters.client import HubClient

    sent = {}
    for member, items in documents.items():
        client = HubClient(f"{url}/soap/exchange", hub_cert=paths.hub_enc_cert, ca_cert=paths.ca_cert,
                           credentials=Credentials.from_files(paths.members / member / "cert.pem",
                                                              paths.members / member / "key.pem"))
        for start in range(0, len(items), batch):
            chunk = [(f"urn:uuid:{uuid.uuid4()}", doc) for doc in items[start:start + batch]]
            receipts = client.submit_batch(chunk)
            assert all(receipt.accepted for receipt in receipts), [r.code for r in receipts if not r.accepted][:3]
        sent[member] = len(items)
    return sent


def _wait_processed(hub: Hub, *, deadline: float) -> None:
    pending = [status.value for status in MessageStatus.pending()]
    while True:
        with hub.sessions() as session:
            waiting = session.scalar(select(func.count()).select_from(Message).where(Message.status.in_(pending)))
        if not waiting:
            return
        assert time.monotonic() < deadline, f"{waiting} messages still unprocessed"
        time.sleep(0.1)


@pytest.fixture(scope="module", params=[pytest.param("chdb", id="chdb"),
                                        pytest.param("server", id="server", marks=pytest.mark.clickhouse)])
def exchange_hub(request, exchange_region, chdb_dir) -> ConsoleHub:
    """``exchange_region``'s hub serving the console on a mart the ETL filled from it, once per engine:
    embedded chDB, and a ClickHouse server (marked ``clickhouse``)."""
    if request.param == "chdb":
        mart = ChdbBackend(chdb_dir, database=f"console_x_{uuid.uuid4().hex[:10]}")
    else:
        server = request.getfixturevalue("ch_server")
        mart = ServerBackend(server.host, server.tcp_port, database=f"console_x_{uuid.uuid4().hex[:10]}")
    engine = exchange_region.hub.sessions.kw["bind"]
    try:
        fill_mart(mart, SimpleNamespace(store=SimpleNamespace(sessions=exchange_region.hub.sessions), engine=engine,
                                        today=exchange_region.today))
        exchange_region.app.state.mart = mart
        yield ConsoleHub(exchange_region.url, exchange_region.hub, mart, exchange_region.tokens)
    finally:
        exchange_region.app.state.mart = None
        mart.drop_database()
        mart.close()


def _add_users(hub: Hub) -> dict[str, str]:
    """The console users of :data:`USERS`; returns a bearer token for each equivalent member."""
    with transaction(hub.sessions) as session:
        for username, (role, division, institution) in USERS.items():
            create(session, username=username, password=PASSWORD, role=role, now=utcnow(), region_code=division,
                   institution_code=institution)
        return {member: issue(session, member=member, label="console test", now=utcnow())
                for member in EQUIVALENT_MEMBER.values()}


def _chromium() -> str | None:
    return shutil.which("chromium")


@pytest.fixture(scope="package")
def browser():
    """One headless chromium for the console's tests. Package-scoped, not session-scoped: Playwright's
    sync API keeps an asyncio loop running in the main thread while it is open, and tests after these
    (the SOAP front's ASGI client) call ``asyncio.run`` there."""
    executable = _chromium()
    if executable is None:
        missing("Debian's chromium is not installed (scripts/install-system-packages.sh installs it)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[test]')")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    # the pages' own timeout (``page`` below), not expect's 5 s: with the other jobs on the 2 cores a
    # dashboard's six cards took longer than 5 s to load, and that failed a test whose numbers were right
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context (no cookies); every request it makes is recorded in ``page.requested``."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.requested = []
    page.on("request", lambda req: page.requested.append(req.url))
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    hosts = {urlsplit(url).hostname for url in page.requested if not url.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1"}, f"the page asked outside the hub: {sorted(hosts)}"


def login(page, hub: ConsoleHub, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{hub.url}/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_load_state()


def build_pivot(page, hub: ConsoleHub, *, cube: str, measures=(), indicators=(), rows=(), columns=(),
                filters=None, period: str = "last_3_months", as_of: str = "2026-12-01") -> dict:
    """Choose a pivot in the page as a person would, show it, and return the table the page received."""
    from playwright.sync_api import expect

    page.goto(f"{hub.url}/console/pivot")
    page.select_option("#pivot-cube", cube)
    for name in measures:
        page.check(f"#pick-measures-{name}")
    for name in indicators:
        page.check(f"#pick-indicators-{name}")
    for axis, levels in (("rows", rows), ("columns", columns)):
        for level in levels:
            page.select_option(f"select[data-axis='{level}']", axis)
    for level, codes in (filters or {}).items():
        page.select_option(f"select[data-axis='{level}']", "filter")
        page.select_option(f"select[data-filter='{level}']", list(codes))
    page.select_option("#pivot-period", period)
    page.fill("#pivot-as-of", as_of)
    with page.expect_response(lambda r: r.url.endswith("/console/api/pivot")) as response:
        page.click("#pivot-run")
    expect(page.locator("#pivot-result")).to_have_attribute("data-state", "loaded")
    return response.value.json()
