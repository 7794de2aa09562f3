"""The monitor's reads go through indexes (SQLite's plans of the statements it really runs): on a
big inbox, a read that scans the table, or walks the status index, takes seconds (docs/monitor.md)."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from hub import monitor
from hub.exchange.models import Reply
from hub.store.db import transaction
from protocol.timestamps import utcnow


@pytest.fixture
def statements(hub, exchange):
    """Every SELECT the monitor runs on SQLite, with its values (the driver's expanded SQL)."""
    if hub.sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("SQLite's query plans")
    seen: list[str] = []
    engine = hub.sessions.kw["bind"]

    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(lambda sql: seen.append(sql) if sql.lstrip().startswith(("SELECT", "WITH"))
                                            else None)

    event.listen(engine, "connect", trace)
    engine.dispose()  # new connections, traced
    yield seen
    event.remove(engine, "connect", trace)


def _plans(hub, sql_texts: list[str]) -> list[str]:
    database = hub.sessions.kw["bind"].url.database
    with sqlite3.connect(database) as connection:
        return [" | ".join(row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + sql)) for sql in sql_texts]


def test_every_read_uses_an_index(hub, exchange, statements):
    now = utcnow()
    since = now - timedelta(days=1)
    with hub.sessions() as session:
        for scope in (None, frozenset({"CLINIC01", "HOSP01"})):
            monitor.traffic(session, scope=scope, since=since, until=now)
            monitor.rejections(session, scope=scope, since=since, until=now)
            monitor.silent_members(session, scope=scope, now=now, quiet_for=timedelta(hours=1))
            monitor.journey(session, message_id=exchange.ids["rejected"], scope=scope, since=since, until=now)
    plans = dict(zip(statements, _plans(hub, statements)))
    on_inbox = {sql: plan for sql, plan in plans.items() if "inbox_message" in plan}
    assert on_inbox and plans
    for sql, plan in plans.items():
        assert "SCAN inbox_message" not in plan and "SCAN audit_event" not in plan, (sql, plan)
        assert "SCAN outbox_reply" not in plan and "ix_inbox_message_status" not in plan, (sql, plan)
        assert "sqlite_autoindex_inbox_message" not in plan or "message_id=" in plan, (sql, plan)
    traffic = [plan for sql, plan in plans.items() if "substr(inbox_message.received_at" in sql]
    assert traffic and all("COVERING INDEX ix_inbox_message_member_received_at" in plan for plan in traffic)
    refusals = [plan for sql, plan in plans.items() if "FROM audit_event" in sql]
    assert refusals and all("ix_audit_event_refusal" in plan for plan in refusals)


def test_an_ack_with_an_id_older_than_uuid7_is_still_found(hub, exchange, api):
    with transaction(hub.sessions) as session:  # a reply id that says nothing of its time
        session.execute(update(Reply).where(Reply.in_reply_to == exchange.ids["rejected"])
                        .values(reply_id="reply-0f3c2a9e7d5b4c1a8e6f0d2b4a6c8e0f"))
    [trip] = api("CLINIC01").get(f"/api/monitor/journey/{exchange.ids['rejected']}").json()["journeys"]
    assert [step["reply_id"] for step in trip["steps"] if step["step"] == "reply"] == [
        "reply-0f3c2a9e7d5b4c1a8e6f0d2b4a6c8e0f"]
