"""Junk input to the console and the JSON APIs over plain HTTP, against a running hub (``console_hub``):
each is answered with a machine code (never a 500 or FastAPI's bare ``{"detail": …}``), and a body over
its limit is refused before it is read.

Each test failed on the hub before the fix it guards (the attacker review of the bureau console)."""
from __future__ import annotations

import pytest
import requests

from hub.web.console.pivot import MAX_BODY_BYTES
from hub.web.cubes import MAX_QUERY_BYTES

from .conftest import PASSWORD, ConsoleHub
from .test_attacks import ANSWER_WITHIN_S, _first_answer, _signed_in

EDGE_TIMES = [{"since": "0001-01-01T00:00:00+14:00"}, {"until": "9999-12-31T23:59:59-14:00"}]
MONITOR_ENDPOINTS = ["traffic", "rejections", "journey/urn:uuid:x"]


@pytest.fixture(scope="module")
def xihu(console_hub) -> requests.Session:
    return _signed_in(console_hub, "xihu")


@pytest.fixture(scope="module")
def operator(console_hub) -> requests.Session:
    from hub.store.db import transaction
    from hub.web.console.users import create
    from protocol.timestamps import utcnow

    with transaction(console_hub.hub.sessions) as session:
        create(session, username="cityop", password=PASSWORD, role="operator", now=utcnow(), region_code="330100")
    return _signed_in(console_hub, "cityop")


def _refused_for(answer: requests.Response, field: str) -> None:
    assert answer.status_code == 422, (answer.status_code, answer.text)
    assert answer.json() == {"code": "request.invalid", "field": field,
                             "message": "a request parameter or body field is malformed (see the field)"}


@pytest.mark.parametrize("params", EDGE_TIMES)
@pytest.mark.parametrize("endpoint", MONITOR_ENDPOINTS)
def test_the_console_monitor_answers_edge_times_with_a_code_not_a_500(console_hub, operator, endpoint, params):
    """A time whose UTC value falls outside year 1-9999 (``aware()`` converting it overflowed)."""
    answer = operator.get(f"{console_hub.url}/console/api/monitor/{endpoint}", params=params, timeout=30)
    _refused_for(answer, "/" + next(iter(params)))


@pytest.mark.parametrize("params", EDGE_TIMES)
@pytest.mark.parametrize("endpoint", MONITOR_ENDPOINTS)
def test_the_monitor_api_answers_edge_times_with_a_code_not_a_500(console_hub, endpoint, params):
    answer = requests.get(f"{console_hub.url}/api/monitor/{endpoint}", params=params, timeout=30,
                          headers={"Authorization": f"Bearer {console_hub.tokens['B01']}"})
    _refused_for(answer, "/" + next(iter(params)))


def test_an_analyst_asking_the_monitor_with_junk_times_is_refused_for_its_role(console_hub, xihu):
    """The role is checked before the period is read: an analyst learns nothing about its parameters."""
    answer = xihu.get(f"{console_hub.url}/console/api/monitor/traffic", params={"since": "0001-01-01T00:00:00+14:00"},
                      timeout=30)
    assert (answer.status_code, answer.json()["code"]) == (403, "access.denied"), answer.text


def _framed(start: bytes, framing: str, limit: int) -> tuple[bytes, bytes]:
    """A request head and the start of a body that never ends: 100 MB declared (8 KB sent), or chunked
    (64 KB chunks up to past ``limit``)."""
    if framing == "declared":
        return start + b"Content-Length: 100000000\r\n\r\n", b"{" + b" " * 8192
    chunk = b"10000\r\n{" + b" " * 0xFFFF + b"\r\n"
    return start + b"Transfer-Encoding: chunked\r\n\r\n", chunk * (limit // 0x10000 + 2)


@pytest.mark.parametrize("framing", ["declared", "chunked"])
def test_an_oversized_pivot_body_is_refused_without_being_read(console_hub, xihu, framing):
    """pivot.py read the whole body, then checked its 64 KB limit."""
    cookie = xihu.cookies.get("hie_console")
    head, body = _framed(b"POST /console/api/pivot HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                         b"Cookie: hie_console=" + cookie.encode() + b"\r\nX-CSRF-Token: " + xihu.csrf.encode() +
                         b"\r\n", framing, MAX_BODY_BYTES)
    status, seconds = _first_answer(console_hub, head, body)
    assert status == b"HTTP/1.1 413 Request Entity Too Large", (status, seconds)
    assert seconds < ANSWER_WITHIN_S


@pytest.mark.parametrize("framing", ["declared", "chunked"])
@pytest.mark.parametrize("path", ["/api/cubes/visits/query", "/api/cubes/visits/export?format=csv"])
def test_an_oversized_cube_api_body_is_refused_without_being_read(console_hub, path, framing):
    """The cube API read its query and export bodies whole, with no limit at all."""
    token = console_hub.tokens["B01"]
    head, body = _framed(f"POST {path} HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                         f"Authorization: Bearer {token}\r\n".encode(), framing, MAX_QUERY_BYTES)
    status, seconds = _first_answer(console_hub, head, body)
    assert status == b"HTTP/1.1 413 Request Entity Too Large", (status, seconds)
    assert seconds < ANSWER_WITHIN_S


def test_a_cube_query_of_ordinary_size_is_still_answered(console_hub: ConsoleHub):
    answer = console_hub.cube("B01", "visits", {"measures": ["visits"], "group_by": ["institution.district"],
                                                "period": None})
    assert answer["cells"]


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/console/nothing", 404, "request.not_found"), ("PUT", "/console/api/pivot", 405, "request.method"),
    ("GET", "/console/static/nothing.js", 404, "request.not_found"), ("GET", "/api/nothing", 404, "request.not_found"),
    ("DELETE", "/api/cubes/visits/query", 405, "request.method"), ("GET", "/nothing", 404, "request.not_found"),
    ("POST", "/healthz", 405, "request.method")])
def test_unknown_paths_and_methods_answer_a_machine_code(console_hub, method, path, status, code):
    """FastAPI's own ``{"detail": "Not Found"}`` / ``"Method Not Allowed"`` carried no code."""
    answer = requests.request(method, f"{console_hub.url}{path}", timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert "detail" not in answer.json()
    if status == 405:
        assert answer.headers["allow"]


def test_an_unknown_query_key_is_not_echoed(console_hub):
    """The field names the place at fault, never the text the client sent (it may be personal data)."""
    answer = requests.post(f"{console_hub.url}/api/cubes/visits/query", timeout=30,
                           json={"measures": ["visits"], "张三 110101199003071234": 1},
                           headers={"Authorization": f"Bearer {console_hub.tokens['B01']}"})
    assert (answer.status_code, answer.json()["code"]) == (400, "cube.query.invalid"), answer.text
    assert "110101199003071234" not in answer.text and "张三" not in answer.text
