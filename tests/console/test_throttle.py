"""The sign-in throttle (hub/web/console/throttle.py): failures for one name and from one address are
slowed, then refused until the window passes; unknown names alike; a success forgives its own name only.

The login endpoint is the console's own app over a migrated SQLite store (no browser), but for the
last test, which reads the refusal in the browser."""
from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.audit import AuditEvent
from hub.registry.models import Region
from hub.settings import Settings
from hub.store.db import make_engine, session_factory, transaction
from hub.web.console import install
from hub.web.console.models import ConsoleLoginAttempt
from hub.web.console.throttle import ThrottlePolicy, begin_attempt, standing
from hub.web.console.users import create
from protocol.timestamps import utcnow
from tests.support.migrated import copy_migrated

PASSWORD = "a long enough secret"
REFUSED = "登录失败次数过多，请稍后再试。"


@pytest.fixture
def console(tmp_path, request):
    """``console(**settings)`` → (TestClient, sessions) of the console app with users xihu and h01."""
    engines = []

    def _make(**overrides) -> tuple[TestClient, object]:
        url = f"sqlite:///{tmp_path}/hub-{len(engines)}.db"
        copy_migrated(request, url)  # a copy of the session's migrated database
        engine = make_engine(url)
        engines.append(engine)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            session.add(Region(code="330106", name="西湖区", level="district", parent_code=None))
            session.flush()
            for username in ("xihu", "gongshu"):
                create(session, username=username, password=PASSWORD, role="analyst", now=utcnow(),
                       region_code="330106")
        app = FastAPI()
        settings = Settings(data_dir=tmp_path, **{"console_login_delay_s": 0.0, **overrides})
        app.state.hub = SimpleNamespace(sessions=sessions, settings=settings)
        install(app)
        return TestClient(app), sessions

    yield _make
    for engine in engines:
        engine.dispose()


def _sign_in(client: TestClient, username: str, password: str = PASSWORD):
    form = client.get("/console/login")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/console/login", data={"csrf_token": token, "username": username, "password": password},
                       follow_redirects=False)


def _error_line(response) -> str:
    return response.text.split('id="login-error" role="alert">')[1].split("</p>")[0]


def _audited(sessions, code: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.code == code)))


def test_five_failures_for_a_name_refuse_it_in_one_line_until_the_window_passes(console):
    client, sessions = console()
    assert [_sign_in(client, "xihu", "wrong password").status_code for _ in range(5)] == [401] * 5
    refused = _sign_in(client, "xihu")  # the right password, too late
    assert refused.status_code == 429 and _error_line(refused) == REFUSED
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60 + 1
    assert "hie_console=" not in refused.headers.get("set-cookie", "")
    audited = _audited(sessions, "console.login.throttled")
    assert [(e.event_type, e.outcome, e.member) for e in audited] == [
        ("console.login.reject", "failure", "console:xihu")]
    assert _sign_in(client, "gongshu").status_code == 303  # another name from the same address still signs in
    with transaction(sessions) as session:  # a quarter of an hour later
        for attempt in session.scalars(select(ConsoleLoginAttempt)):
            attempt.at -= timedelta(minutes=15)
    assert _sign_in(client, "xihu").status_code == 303
    with sessions() as session:  # the window's old rows are gone, and the success forgave the rest of its name's
        assert session.scalar(select(func.count()).select_from(ConsoleLoginAttempt)) == 0


def test_an_unknown_name_is_throttled_exactly_as_a_known_one(console):
    client, sessions = console()
    answers = {}
    for username in ("xihu", "nobody"):
        responses = [_sign_in(client, username, "wrong password") for _ in range(6)]
        answers[username] = [(r.status_code, _error_line(r), "Retry-After" in r.headers) for r in responses]
    assert answers["xihu"] == answers["nobody"]
    assert answers["nobody"][-1] == (429, REFUSED, True)
    members = [e.member for e in _audited(sessions, "console.login.throttled")]
    assert members == ["console:xihu", None]  # the audit knows which exists; the answer does not say
    with sessions() as session:  # the name typed is kept as a digest only
        digests = session.scalars(select(ConsoleLoginAttempt.username_sha256)).all()
    assert digests and not any("nobody" in digest or "xihu" in digest for digest in digests)


def test_an_address_spraying_names_stays_refused_though_its_own_sign_in_succeeds(console):
    client, _ = console(console_login_failures_per_address=6)
    for index in range(5):  # one failure each: no name reaches its limit
        assert _sign_in(client, f"guess{index}", "wrong password").status_code == 401
    assert _sign_in(client, "xihu").status_code == 303  # the attacker's own account
    assert _sign_in(client, "guess5", "wrong password").status_code == 401  # the sixth failure of the address
    assert _sign_in(client, "gongshu").status_code == 429  # the success reset nothing of the address's count
    assert _sign_in(client, "xihu").status_code == 429


def test_a_success_forgives_the_failures_of_its_own_name(console):
    client, _ = console()
    for _ in range(2):
        assert [_sign_in(client, "xihu", "wrong password").status_code for _ in range(4)] == [401] * 4
        assert _sign_in(client, "xihu").status_code == 303  # eight failures in all, never five in a row


def test_each_earlier_failure_slows_the_next_attempt_right_or_wrong(console):
    client, _ = console(console_login_delay_s=0.3, console_login_delay_max_s=0.6)
    started = time.perf_counter()
    assert _sign_in(client, "xihu", "wrong password").status_code == 401
    first = time.perf_counter() - started
    for _ in range(2):
        assert _sign_in(client, "xihu", "wrong password").status_code == 401
    started = time.perf_counter()
    assert _sign_in(client, "xihu").status_code == 303  # two failures before it: capped at 0.6 s
    assert time.perf_counter() - started >= 0.6
    assert first < time.perf_counter() - started  # the first attempt waited for nothing


def test_attempts_in_flight_count_before_their_password_is_checked(tmp_path, request):
    copy_migrated(request, url := f"sqlite:///{tmp_path}/hub.db")
    engine = make_engine(url)
    sessions, policy, now = session_factory(engine), ThrottlePolicy(), utcnow()
    with transaction(sessions) as session:
        for index in range(5):  # five parallel guesses, none answered yet
            assert not standing(session, username="xihu", client_address=f"10.0.0.{index}", now=now,
                                policy=policy).refused(policy)
            begin_attempt(session, username="xihu", client_address=f"10.0.0.{index}", now=now)
        sixth = standing(session, username="xihu", client_address="10.0.0.9", now=now, policy=policy)
    assert sixth.refused(policy) and (sixth.by_name, sixth.by_address) == (5, 0)
    assert sixth.retry_after_s(policy, now + timedelta(minutes=5)) == 10 * 60 + 1
    engine.dispose()


def test_the_throttle_is_set_from_the_environment(monkeypatch, tmp_path):
    default = ThrottlePolicy.of(Settings(data_dir=tmp_path))
    assert (default.window, default.per_name, default.per_address) == (timedelta(minutes=15), 5, 20)
    for name, value in (("WINDOW_MINUTES", "30"), ("FAILURES_PER_NAME", "3"), ("FAILURES_PER_ADDRESS", "50"),
                        ("DELAY_S", "0.5"), ("DELAY_MAX_S", "2")):
        monkeypatch.setenv(f"HIE_CONSOLE_LOGIN_{name}", value)
    policy = ThrottlePolicy.of(Settings.load(tmp_path))
    assert policy == ThrottlePolicy(window=timedelta(minutes=30), per_name=3, per_address=50, delay_s=0.5,
                                    delay_max_s=2.0)


@pytest.fixture(scope="module")
def console_settings():
    return {"console_login_delay_s": 0.0}  # (the delay is the test above's)


@pytest.mark.browser
def test_the_browser_shows_the_refusal_in_one_line(page, console_hub):
    from .conftest import PASSWORD, login

    for _ in range(5):
        login(page, console_hub, "gone", password="not the password")
        assert page.inner_text("#login-error") == "用户名或密码错误，或账户已停用。"
    page.goto(f"{console_hub.url}/console/login")
    page.fill("#username", "gone")
    page.fill("#password", PASSWORD)  # the right one, too late
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.click("#login-submit")
    assert answer.value.status == 429
    assert "/console/login" in page.url and page.inner_text("#login-error") == REFUSED
    assert not any(c["name"] == "hie_console" for c in page.context.cookies())
