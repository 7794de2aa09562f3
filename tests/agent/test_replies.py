"""Replies are written into a real clinic database (SQLite and PostgreSQL) through the declarative
column map, and acknowledged at the hub only after the write committed. One hub serves the module
(``module_hub``): each test acknowledges every reply it was sent, so the next starts with none waiting."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from adapters.agent import Agent, load
from adapters.agent.replies import RepliesResult, ReplyRouter

from tests.support.databases import empty_database

from .conftest import wait_until, write_config, write_documents

pytestmark = pytest.mark.slow

TABLE = """CREATE TABLE hie_reply (
    reply_id VARCHAR(64) PRIMARY KEY, message_id VARCHAR(200) NOT NULL, status VARCHAR(20) NOT NULL,
    code VARCHAR(80), field VARCHAR(300), kind VARCHAR(20), content TEXT)"""
TARGET = """
[[replies]]
kinds = ["ack"]
database = "{url}"
table = "hie_reply"
[replies.columns]
reply_id = "reply_id"
kind = "kind"
message_id = "xml:MessageId"
status = "xml:Status"
code = "xml:Code"
field = "xml:Field"
content = "content"
"""


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def clinic_db(request, tmp_path):
    """The clinic's own database (its URL); the reply table is created by each test."""
    yield from empty_database(request, tmp_path, "clinic")


def _accepted_agent(tmp_path, hub, pki_dir, clinic_db, count: int) -> Agent:
    config = write_config(tmp_path / "clinic", hub_url=hub.url, pki=pki_dir, replies=TARGET.format(url=clinic_db))
    write_documents(config.parent, count, tag=uuid.uuid4().hex[:8].upper())  # documents of its own on the hub
    agent = Agent(load(config))
    agent.collect()
    assert hub.unacknowledged_replies() == 0  # the module's earlier tests acknowledged all theirs
    queued = hub.query("SELECT count(*) FROM outbox_reply")[0][0]
    assert agent.push(drain_for=30).accepted == count
    # wait until the hub has normalized them and queued one acknowledgement each
    wait_until(lambda: hub.query("SELECT count(*) FROM outbox_reply")[0][0] == queued + count, message="acks queued")
    return agent


def test_replies_written_into_the_clinic_database_then_acknowledged(tmp_path, module_hub, pki_dir, clinic_db):
    engine = create_engine(clinic_db)
    with engine.begin() as connection:
        connection.execute(text(TABLE))
    agent = _accepted_agent(tmp_path, module_hub, pki_dir, clinic_db, 12)
    result = agent.replies()
    assert (result.fetched, result.written, result.acknowledged, result.failed) == (12, 12, 12, [])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT message_id, status, code, kind, content FROM hie_reply")).all()
    engine.dispose()
    assert len(rows) == 12
    assert {row.status for row in rows} == {"processed"} and {row.kind for row in rows} == {"ack"}
    assert all("<hie:Acknowledgement" in row.content for row in rows)
    assert {row.message_id for row in rows} == {item for item in _message_ids(agent)}
    assert agent.status().counts["processed"] == 12
    assert module_hub.unacknowledged_replies() == 0
    assert agent.replies().fetched == 0  # acknowledged: the hub does not send them again


def test_a_failed_write_leaves_the_reply_unacknowledged_and_it_comes_again(tmp_path, module_hub, pki_dir,
                                                                           clinic_db):
    agent = _accepted_agent(tmp_path, module_hub, pki_dir, clinic_db, 5)  # the reply table does not exist yet
    result = agent.replies()
    assert (result.fetched, result.acknowledged) == (5, 0) and result.failed
    assert module_hub.unacknowledged_replies() == 5
    assert agent.status().counts["accepted"] == 5  # the outbox did not take the acks either

    engine = create_engine(clinic_db)
    with engine.begin() as connection:  # the clinic's IT fixes the database
        connection.execute(text(TABLE))
    result = agent.replies()
    assert (result.fetched, result.written, result.acknowledged) == (5, 5, 5)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM hie_reply")).scalar() == 5
    engine.dispose()
    assert module_hub.unacknowledged_replies() == 0
    assert agent.status().counts["processed"] == 5


def test_a_reply_fetched_again_after_a_crash_is_not_written_twice(tmp_path, module_hub, pki_dir, clinic_db):
    engine = create_engine(clinic_db)
    with engine.begin() as connection:
        connection.execute(text(TABLE))
    agent = _accepted_agent(tmp_path, module_hub, pki_dir, clinic_db, 3)
    client = agent.client("replies")
    with agent.outbox() as outbox:
        router = ReplyRouter(outbox, client, agent.config.replies)
        assert len(router.write(client.fetch_replies(), RepliesResult())) == 3
        router.close()  # written, then "crashed" before AckReplies
    assert module_hub.unacknowledged_replies() == 3
    result = agent.replies()
    assert (result.fetched, result.acknowledged) == (3, 3)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM hie_reply")).scalar() == 3
    engine.dispose()


def _message_ids(agent: Agent) -> set[str]:
    with agent.outbox() as outbox:
        return {row[0] for row in outbox.db.execute("SELECT message_id FROM outbox_item")}
