"""Query parameters are checked and refused in one line with the field at fault; periods are bounded."""
from __future__ import annotations

import pytest


@pytest.fixture
def db_url(tmp_path):
    """The embedded default only: parameters are checked before any SQL runs (pure Python above the
    store); the monitor's queries run on both backends in test_api.py."""
    return f"sqlite:///{tmp_path}/hub.db"


@pytest.mark.parametrize("path, params, field", [
    ("/api/monitor/traffic", {"grain": "minute"}, "/grain"),
    ("/api/monitor/traffic", {"since": "2026-12-01T00:00:00"}, "/since"),  # no offset: which zone?
    ("/api/monitor/traffic", {"since": "2026-08-01T00:00:00+08:00", "until": "2026-12-01T00:00:00+08:00"}, "/since"),
    ("/api/monitor/traffic", {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "/until"),
    ("/api/monitor/traffic", {"since": "yesterday"}, "/since"),
    ("/api/monitor/rejections", {"since": "2023-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "/since"),
    ("/api/monitor/silent", {"quiet_hours": "0"}, "/quiet_hours"),
    ("/api/monitor/etl", {"limit": "1000"}, "/limit"),
    ("/api/monitor/journey/x", {"until": "2026-12-01T00:00:00"}, "/until"),
    ("/api/monitor/traffic", {"since": "0001-01-01T00:00:00+14:00"}, "/since"),  # before year 1 in UTC
    ("/api/monitor/rejections", {"until": "9999-12-31T23:59:59-14:00"}, "/until"),  # after year 9999 in UTC
    ("/api/monitor/journey/x", {"until": "0001-01-02T00:00:00Z"}, "/until"),  # no week before it
])
def test_bad_parameters_are_refused_with_their_field(api, path, params, field):
    answer = api("BUREAU").get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "request.invalid" and answer.json()["field"] == field


def test_a_quarter_of_hours_and_two_years_of_days_are_allowed(api):
    quarter = {"since": "2026-09-01T00:00:00+08:00", "until": "2026-12-01T00:00:00+08:00"}
    assert api("BUREAU").get("/api/monitor/traffic", params=quarter).status_code == 200
    years = {"since": "2025-01-01T00:00:00+08:00", "until": "2026-12-01T00:00:00+08:00", "grain": "day"}
    assert api("BUREAU").get("/api/monitor/traffic", params=years).status_code == 200


def test_no_token_no_answer(api):
    client = api("BUREAU")
    answer = client.get("/api/monitor/backlog", headers={"Authorization": "Bearer nonsense"})
    assert answer.status_code == 403 and answer.json()["code"] == "access.denied"
