"""A hub serving the console on 127.0.0.1 with real data, and a headless Chromium to drive it.

``console_hub``  module: the cube tests' region (tests/cubes/conftest.py: documents delivered through
                 the exchange's inbox and the processor) copied into the hub's own data directory,
                 its mart filled by the ETL in embedded chDB, console users and members' bearer
                 tokens added, the whole app (``create_app``) served by uvicorn in a thread.
``browser``      session: Debian's chromium through Playwright (nothing downloaded); the browser
                 tests are skipped, saying why, when it is absent.
"""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from hub.auth import issue
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.db import transaction
from hub.web.app import create_app
from hub.web.console.users import create
from olap import ChdbBackend
from protocol.timestamps import utcnow
from tests.cubes.checks import fill_mart
from tests.cubes.conftest import region  # noqa: F401  (fixture: the filled region)
from tests.exchange.conftest import pki_dir  # noqa: F401  (fixture: the hub's PKI)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def console_settings() -> dict:
    """Settings of ``console_hub`` beyond the defaults; a test module may override this fixture."""
    return {}


@pytest.fixture(scope="module")
def console_hub(tmp_path_factory, region, pki_dir, chdb_dir, console_settings):  # noqa: F811
    import uvicorn

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
    with transaction(hub.sessions) as session:
        for username, (role, division, institution) in USERS.items():
            create(session, username=username, password=PASSWORD, role=role, now=utcnow(), region_code=division,
                   institution_code=institution)
        tokens = {member: issue(session, member=member, label="console test", now=utcnow())
                  for member in EQUIVALENT_MEMBER.values()}
    app = create_app(settings, hub=hub)
    app.state.mart = mart
    switch = sys.getswitchinterval()  # the app's start-up tunes it for the exchange; give it back after
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    try:
        yield ConsoleHub(f"http://127.0.0.1:{server.config.port}", hub, mart, tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sys.setswitchinterval(switch)
        mart.drop_database()
        mart.close()
        hub.sessions.kw["bind"].dispose()


def _chromium() -> str | None:
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        missing("Debian's chromium is not installed (scripts/install-system-packages.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[test]')")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
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
