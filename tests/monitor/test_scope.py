"""Who watches whom: a clinic itself only, a district bureau its districts, the city bureau everyone;
a message outside the caller's scope is answered as an unknown one."""
from __future__ import annotations

from hub.monitor import members_in
from hub.web.monitor import member_scope

from .conftest import window


def test_scope_of_each_kind_of_member(hub):
    with hub.sessions() as session:
        assert member_scope(session, "CLINIC01") == {"CLINIC01"}
        assert member_scope(session, "UNREGISTERED9") == {"UNREGISTERED9"}  # a certificate holder the registry lacks
        assert member_scope(session, "B0105") == {"HOSP02", "CLINIC02", "B0105"}
        assert member_scope(session, "B0102") == {"CDC01", "HOSP01", "CLINIC01", "CLINIC03", "B0102"}
        assert member_scope(session, "BUREAU") is None  # it governs every district: no filter at all
        assert members_in(session, districts=frozenset(), institutions=None) == frozenset()


def _members(answer) -> set:
    assert answer.status_code == 200, answer.text
    return {row["member"] for row in answer.json()["rows"]}


def test_traffic_and_rejections_in_scope_only(exchange, api):
    params = window(exchange)
    assert _members(api("BUREAU").get("/api/monitor/traffic", params=params)) == {None, "CLINIC01", "HOSP01"}
    assert _members(api("HOSP01").get("/api/monitor/traffic", params=params)) == {"HOSP01"}
    assert _members(api("CLINIC02").get("/api/monitor/traffic", params=params)) == set()
    assert _members(api("B0102").get("/api/monitor/traffic", params=params)) == {"CLINIC01", "HOSP01"}
    assert _members(api("B0105").get("/api/monitor/traffic", params=params)) == set()
    assert api("HOSP01").get("/api/monitor/rejections", params=params).json()["rejections"] == []
    codes = {row["code"] for row in api("B0102").get("/api/monitor/rejections", params=params).json()["rejections"]}
    assert codes == {"exchange.document.invalid", "record.author.mismatch"}  # the signer-less refusal: city only
    assert api("B0105").get("/api/monitor/backlog").json()["count"] == 0


def test_a_journey_out_of_scope_is_answered_as_an_unknown_message(exchange, api):
    message_id = exchange.ids["rejected"]
    unknown = api("HOSP01").get("/api/monitor/journey/urn:uuid:no-such-message")
    assert unknown.status_code == 404 and unknown.json()["code"] == "exchange.message.not_found"
    for caller, params in (("HOSP01", {}), ("B0105", {}), ("HOSP01", {"member": "CLINIC01"}),
                           ("CLINIC02", {"member": "CLINIC01"})):
        answer = api(caller).get(f"/api/monitor/journey/{message_id}", params=params)
        assert (answer.status_code, answer.content) == (unknown.status_code, unknown.content), caller
    assert api("B0102").get(f"/api/monitor/journey/{message_id}").status_code == 200
    assert api("BUREAU").get(f"/api/monitor/journey/{message_id}", params={"member": "CLINIC01"}).status_code == 200
