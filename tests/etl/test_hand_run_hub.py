"""A fresh hand-run hub: the examples sent by their authors, processed, loaded by an ETL run, and the
exchange cube answering every reader with its numbers.

Why the exchange cube once stayed empty on a hand-run hub: the cubes place a message by its member's
registry entry (``dim_institution``: institution → district), and a member reads the cells of its own
district only (``hub.web.scope``). A hub whose registry is empty has no district for anyone, so every
member's scope is empty and the cube answers zero cells, however many rows the ETL loaded. The facts
were there all along; registering the members (``hie registry import``) is the fix, and it also works
after the facts were loaded: the next run rebuilds the institution dimension from the registry.
"""
from __future__ import annotations

from datetime import timedelta

from lxml import etree
from sqlalchemy import select

from hub.exchange.models import Message
from hub.registry import HUB_OPERATOR, import_entries, read_entries
from hub.store.db import transaction
from hub.web.scope import scope_for
from olap.cubes import execute, parse_query
from protocol.timestamps import utcnow
from schemas import EXAMPLES_DIR
from tests.support.documents import document

DOC = "{urn:hie:doc:v1}"
CANCELLATION_LAST = sorted(EXAMPLES_DIR.glob("*.xml"), key=lambda p: (p.stem == "Cancellation", p.name))


def _author(path) -> str:
    return etree.parse(str(path)).find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")


def _messages(etl, member: str) -> int:
    with etl.store.sessions() as session:
        scope = scope_for(session, member)
    query = parse_query("exchange", {"measures": ["messages", "rejected"], "period": {"this": "year"}},
                        today=(utcnow() + timedelta(hours=8)).date())  # China's today, as the API
    cells = execute(etl.mart, query, scope=scope)["cells"]
    return sum(cell["messages"] for cell in cells)


def _import(etl, text: str) -> None:
    with transaction(etl.store.sessions) as session:
        import_entries(session, actor=HUB_OPERATOR, entries=read_entries(text.encode(), suffix=".csv"))


def test_examples_sent_by_their_authors_fill_the_exchange_cube(etl):
    _import(etl, (EXAMPLES_DIR / "registry.csv").read_text(encoding="utf-8"))
    for path in CANCELLATION_LAST:  # each by its author; the cancellation after what it cancels
        etl.deliver(path.read_bytes(), member=_author(path))
    with etl.store.sessions() as session:
        outcomes = {(m.member, m.status, m.error_code) for m in session.scalars(select(Message))}
    assert {status for _, status, _ in outcomes} == {"processed"}, outcomes
    result = etl.run()
    assert result.per_fact["fact_exchange_message"]["written"] == len(CANCELLATION_LAST) == 14
    assert {member: _messages(etl, member) for member in ("BUREAU", "CLINIC01", "CLINIC02", "CLINIC03", "HOSP01")} \
        == {"BUREAU": 14, "CLINIC01": 10, "CLINIC02": 1, "CLINIC03": 2, "HOSP01": 1}


def test_a_member_the_registry_does_not_know_sees_an_empty_cube_until_registered(etl):
    _import(etl, (EXAMPLES_DIR / "registry.csv").read_text(encoding="utf-8"))
    etl.deliver(document("OutpatientVisit", institution="CLINIC09"), document("LabReport", institution="CLINIC09"),
                member="CLINIC09")
    etl.run()
    assert etl.count("fact_exchange_message") == 2  # loaded...
    assert _messages(etl, "CLINIC09") == 0  # ...but no district: its own scope holds nothing
    assert _messages(etl, "BUREAU") == 2  # the city-wide bureau reads every district, unfiltered
    header = "entry,code,name,kind,division\n"
    _import(etl, header + "institution,CLINIC09,示例新社区卫生服务中心,community_center,330106\n")
    etl.run()  # the registry changed: the institution dimension is rebuilt, the facts stay as they are
    assert _messages(etl, "CLINIC09") == 2
