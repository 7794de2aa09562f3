"""``hie users add | list | disable``, and what a user's state means for its sessions (no browser)."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from hub.cli.main import main
from hub.registry.models import Institution, Region
from hub.settings import Settings
from hub.store.db import make_engine, session_factory, transaction
from hub.web.console.i18n import format_number, language
from hub.web.console.sessions import open_session, read_session
from hub.web.console.users import check_password, create, disable, get_by_name, scope_of, signed_in
from olap.cubes import Scope
from protocol.timestamps import utcnow
from tests.support.migrated import copy_migrated

PASSWORD = "a long enough secret"


def _hub_with_registry(tmp_path, request):
    runner = CliRunner()
    assert runner.invoke(main, ["users", "list", "--data-dir", str(tmp_path)]).exit_code == 1  # no hub yet
    (tmp_path / "hub").mkdir()
    data_dir = tmp_path / "hub"
    copy_migrated(request, Settings(data_dir=data_dir).db_url)  # a copy of the session's migrated database
    engine = make_engine(Settings(data_dir=data_dir).db_url)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(Region.__table__.insert(), [
            {"code": "330100", "name": "杭州市", "level": "city", "parent_code": None},
            {"code": "330105", "name": "拱墅区", "level": "district", "parent_code": "330100"},
            {"code": "330106", "name": "西湖区", "level": "district", "parent_code": "330100"}])
        connection.execute(Institution.__table__.insert(), [
            {"code": "H01", "name": "合成H01", "kind": "hospital", "level": "2", "division_code": "330106",
             "parent_code": None, "status": "active", "created_at": now, "updated_at": now}])
    return runner, data_dir, engine


def test_users_add_list_disable_and_one_line_refusals(tmp_path, request):
    runner, data_dir, engine = _hub_with_registry(tmp_path, request)
    env = {"HIE_CONSOLE_PASSWORD": PASSWORD}
    added = runner.invoke(main, ["users", "add", "--data-dir", str(data_dir), "--username", "xihu", "--role", "analyst",
                                 "--region", "330106"], env=env)
    assert added.exit_code == 0 and added.output == "user xihu: analyst, region 330106\n"
    added = runner.invoke(main, ["users", "add", "--data-dir", str(data_dir), "--username", "h01", "--role",
                                 "institution_admin", "--institution", "H01"], env=env)
    assert added.exit_code == 0, added.output
    for arguments, line in (
            (["--username", "x2", "--role", "analyst", "--region", "999999"],
             "error: registry.invalid: region: not a division of the registry (/region)"),
            (["--username", "xihu", "--role", "analyst", "--region", "330106"],
             "error: request.invalid: username: taken (/username)"),
            (["--username", "x3", "--role", "institution_admin", "--region", "330106"],
             "error: request.invalid: an institution administrator is bound to an institution (/scope)"),
            (["--username", "x4", "--role", "analyst", "--region", "330106", "--institution", "H01"],
             "error: request.invalid: give either a region or an institution (/scope)")):
        refused = runner.invoke(main, ["users", "add", "--data-dir", str(data_dir), *arguments], env=env)
        assert refused.exit_code == 1 and refused.output.strip() == line, refused.output
    short = runner.invoke(main, ["users", "add", "--data-dir", str(data_dir), "--username", "x5", "--role", "analyst",
                                 "--region", "330106"], env={"HIE_CONSOLE_PASSWORD": "short"})
    assert short.exit_code == 1 and short.output.strip() == \
        "error: request.invalid: password: at least 10 characters (/password)"
    typed = runner.invoke(main, ["users", "add", "--data-dir", str(data_dir), "--username", "typed", "--role",
                                 "operator", "--region", "330100"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert typed.exit_code == 0 and PASSWORD not in typed.output  # prompted for, not echoed
    listed = runner.invoke(main, ["users", "list", "--data-dir", str(data_dir)])
    assert listed.output.splitlines() == ["h01  institution_admin  institution H01  active",
                                          "typed  operator  region 330100  active",
                                          "xihu  analyst  region 330106  active"]
    assert runner.invoke(main, ["users", "disable", "--data-dir", str(data_dir), "xihu"]).exit_code == 0
    assert "xihu  analyst  region 330106  disabled" in runner.invoke(main, ["users", "list", "--data-dir",
                                                                           str(data_dir)]).output
    gone = runner.invoke(main, ["users", "disable", "--data-dir", str(data_dir), "nobody"])
    assert gone.exit_code == 1 and gone.output.strip() == "error: registry.not_found: no such console user (/username)"
    sessions = session_factory(engine)
    with sessions() as session:
        stored = get_by_name(session, username="h01")
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    engine.dispose()


def test_sessions_expire_end_with_their_user_and_scopes_follow_the_registry(tmp_path, request):
    _, _, engine = _hub_with_registry(tmp_path, request)
    sessions = session_factory(engine)
    now = utcnow()
    with transaction(sessions) as session:
        city = create(session, username="city", password=PASSWORD, role="analyst", now=now, region_code="330100")
        xihu = create(session, username="xihu", password=PASSWORD, role="analyst", now=now, region_code="330106")
        h01 = create(session, username="h01", password=PASSWORD, role="institution_admin", now=now,
                     institution_code="H01")
        token = open_session(session, user=xihu, now=now, minutes=30)
        assert scope_of(session, signed_in(city)) == Scope()  # every district of the registry: unfiltered
        assert scope_of(session, signed_in(xihu)) == Scope(districts=frozenset({"330106"}))
        assert scope_of(session, signed_in(h01)) == Scope(districts=frozenset({"330106"}),
                                                          institutions=frozenset({"H01"}))
        assert check_password(session, username="xihu", password="wrong one!!")[1] == "password"
        assert check_password(session, username="nobody", password=PASSWORD) == (None, "unknown")
        assert check_password(session, username="xihu", password=PASSWORD)[1] is None
    with sessions() as session:
        assert read_session(session, token=token, now=now + timedelta(minutes=29))[0].username == "xihu"
        assert read_session(session, token=token, now=now + timedelta(minutes=30)) is None  # expired
        assert read_session(session, token="hie_not_a_session", now=now) is None
    with transaction(sessions) as session:
        disable(session, username="xihu", now=now)
    with sessions() as session:
        assert read_session(session, token=token, now=now) is None  # disabled: its open session ends
        assert check_password(session, username="xihu", password=PASSWORD)[1] == "disabled"
    engine.dispose()


def test_the_console_session_lifetime_is_a_setting(monkeypatch, tmp_path):
    assert Settings(data_dir=tmp_path).console_session_minutes == 480.0
    monkeypatch.setenv("HIE_CONSOLE_SESSION_MINUTES", "15")
    assert Settings.load(tmp_path).console_session_minutes == 15.0


def test_chinese_by_default_and_numbers_for_chinese_readers():
    assert language(None, None) == "zh" and language("en", "zh") == "en" and language("fr", "en") == "en"
    assert format_number(123456, unit="人次") == "12.35万"
    assert format_number(2.5e8, unit="元") == "¥2.50亿"
    assert format_number(687.084, unit="元") == "¥687.08"
    assert format_number(9999, unit="人次") == "9,999"
    assert format_number(123456, unit="人次", lang="en") == "123,456"
    assert format_number(None, unit="元") == "—"


def _console_app(tmp_path, request):
    from types import SimpleNamespace

    from fastapi import FastAPI

    from hub.web.console import install

    _, _, engine = _hub_with_registry(tmp_path, request)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        create(session, username="xihu", password=PASSWORD, role="analyst", now=utcnow(), region_code="330106")
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=sessions, settings=Settings(data_dir=tmp_path, console_session_minutes=5))
    install(app)
    return app, engine


def _sign_in(client):
    form = client.get("/console/login")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/console/login", data={"csrf_token": token, "username": "xihu", "password": PASSWORD},
                       follow_redirects=False)


def test_the_session_cookie_is_secure_over_tls_and_lives_as_the_setting_says(tmp_path, request):
    from fastapi.testclient import TestClient

    from hub.web.console.models import ConsoleSession

    app, engine = _console_app(tmp_path, request)
    signed = _sign_in(TestClient(app, base_url="https://hub.example"))
    assert signed.status_code == 303
    cookie = next(value for name, value in signed.headers.multi_items()
                  if name == "set-cookie" and value.startswith("hie_console="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    plain = _sign_in(TestClient(app))
    cookie = next(value for name, value in plain.headers.multi_items()
                  if name == "set-cookie" and value.startswith("hie_console="))
    assert "Secure" not in cookie
    with session_factory(engine)() as session:
        rows = session.query(ConsoleSession).all()
    assert len(rows) == 2 and all(row.expires_at - row.created_at == timedelta(minutes=5) for row in rows)
    crowded = TestClient(app).post("/console/login", content="&".join(f"f{i}=1" for i in range(20)),
                                   headers={"content-type": "application/x-www-form-urlencoded"})
    assert crowded.status_code == 403  # no CSRF token among them: refused, not a server error
    engine.dispose()


def test_a_page_opens_only_for_the_roles_its_menu_entry_names(tmp_path, monkeypatch, request):
    from fastapi.testclient import TestClient

    from hub.web.console import pages
    from hub.web.console.users import Role

    monkeypatch.setattr(pages, "NAVIGATION", [pages.NavItem("hospital", "/console/hospital", "nav.hospital",
                                                            frozenset({Role.OPERATOR}))])
    app, engine = _console_app(tmp_path, request)  # its user is an analyst
    client = TestClient(app)
    assert _sign_in(client).status_code == 303
    page = client.get("/console/hospital")
    assert page.status_code == 403 and "您的角色无权打开此页面" in page.text and 'href="/console/hospital"' not in page.text
    answer = client.get("/console/api/hospital/visits")
    assert answer.status_code == 403 and answer.json()["code"] == "access.denied"
    engine.dispose()
