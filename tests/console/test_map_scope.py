"""The district map's endpoint (``GET /console/api/map``, hub/web/console/geo.py) on the console's own app
over a migrated SQLite store (no browser): signed-in users only, each getting the features of its own
districts; no map imported is ``available: false``, and the pages then carry no map card."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.regions import import_map, schematic_map
from hub.registry.models import Institution, Region
from hub.settings import Settings
from hub.store.db import make_engine, migrate, session_factory, transaction
from hub.web.console import install
from hub.web.console.sessions import COOKIE, open_session
from hub.web.console.users import create, get_by_name
from protocol.timestamps import utcnow

PASSWORD = "a long enough secret"
DISTRICTS = {"330105": "拱墅区", "330106": "西湖区", "330109": "萧山区"}
USERS = {"city": ("analyst", "330100", None), "xihu": ("analyst", "330106", None),
         "ops": ("operator", "330100", None), "h02admin": ("institution_admin", None, "H02")}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """(TestClient factory, data directory) of the console app; the registry: a city, three districts, H02."""
    data_dir = tmp_path_factory.mktemp("map-scope")
    engine = make_engine(f"sqlite:///{data_dir}/hub.db")
    migrate(engine)
    sessions = session_factory(engine)
    now = utcnow()
    with transaction(sessions) as session:
        session.add(Region(code="330100", name="杭州市", level="city", parent_code=None))
        session.add_all(Region(code=code, name=name, level="district", parent_code="330100")
                        for code, name in DISTRICTS.items())
        session.add(Institution(code="H02", name="合成H02", kind="hospital", level="2", division_code="330105",
                                parent_code=None, status="active", created_at=now, updated_at=now))
        session.flush()
        for username, (role, region, institution) in USERS.items():
            create(session, username=username, password=PASSWORD, role=role, now=now, region_code=region,
                   institution_code=institution)
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=sessions, settings=Settings(data_dir=data_dir, console_login_delay_s=0.0))
    install(app)
    yield (lambda: TestClient(app)), data_dir
    engine.dispose()


def _signed_in(make_client, username: str) -> TestClient:
    """A client with a session of ``username`` (opened as the login form does; the password check is
    the throttle and login tests' subject, and argon2 costs a quarter second a time)."""
    client = make_client()
    with transaction(client.app.state.hub.sessions) as session:
        token = open_session(session, user=get_by_name(session, username=username), now=utcnow(), minutes=30)
    client.cookies.set(COOKIE, token, path="/console")
    return client


def _codes(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["districts"] == [f["properties"]["code"] for f in body["map"]["features"]]
    return body["districts"]


def test_without_a_map_the_endpoint_says_so_and_the_pages_have_no_map_card(console):
    make_client, data_dir = console
    assert not (data_dir / "region-map.geojson").exists()
    city = _signed_in(make_client, "city")
    assert city.get("/console/api/map").json() == {"available": False}
    page = city.get("/console/hospital?unit=month&as_of=2026-11-15")
    assert page.status_code == 200 and 'id="card-map"' not in page.text and "map.js" not in page.text


def test_each_user_gets_the_features_of_its_own_districts_only(console):
    make_client, data_dir = console
    schematic = schematic_map(list(DISTRICTS.items()))
    import_map(data_dir=data_dir, raw=json.dumps(schematic).encode(), districts=DISTRICTS, now=utcnow())
    assert make_client().get("/console/api/map").status_code == 403  # no session: access.denied
    assert _codes(_signed_in(make_client, "city").get("/console/api/map")) == ["330105", "330106", "330109"]
    assert _codes(_signed_in(make_client, "ops").get("/console/api/map")) == ["330105", "330106", "330109"]
    xihu = _signed_in(make_client, "xihu").get("/console/api/map").json()
    assert xihu["districts"] == ["330106"] and xihu["schematic"] is True
    assert [f["properties"]["name"] for f in xihu["map"]["features"]] == ["西湖区"]
    assert "330105" not in json.dumps(xihu) and "拱墅区" not in json.dumps(xihu)
    assert _codes(_signed_in(make_client, "h02admin").get("/console/api/map")) == ["330105"]


def test_the_map_card_is_on_the_district_level_of_the_hospital_and_disease_pages_only(console):
    make_client, data_dir = console
    import_map(data_dir=data_dir, raw=json.dumps(schematic_map(list(DISTRICTS.items()))).encode(),
               districts=DISTRICTS, now=utcnow())
    city = _signed_in(make_client, "city")
    for page, sources in (("hospital", 6), ("diseases", 1)):
        shown = city.get(f"/console/{page}?unit=month&as_of=2026-11-15")
        assert shown.status_code == 200 and 'id="card-map"' in shown.text, page
        assert shown.text.count("<option value=") == (sources if sources > 1 else 0)
        assert shown.text.index("map.js") < shown.text.index(f"/static/{page}.js")  # listening before the cards load
        below = city.get(f"/console/{page}?unit=month&as_of=2026-11-15&district=330106")
        assert below.status_code == 200 and 'id="card-map"' not in below.text, page
    assert 'id="card-map"' not in city.get("/console/drugs?unit=month&as_of=2026-11-15").text
