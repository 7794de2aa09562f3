"""What two nodes share through the one database (issue 22): the same MessageID through both at the
same moment is one stored message with one receipt, a request seen by one node is a replay on the
other, a reply queued after processing is fetched through either node until acknowledged through
either, and both nodes' audit events are in the one audit table."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from lxml import etree
from sqlalchemy import text

from adapters.errors import HubFault
from hub.store.db import make_engine
from protocol.ns import HIE, q
from tests.support.documents import document

from .members import read, receipts, submit_document
from .stream import persons

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

ROUNDS = 20


@pytest.fixture(scope="module")
def tier_db(cluster):
    engine = make_engine(cluster.database_url)
    yield engine
    engine.dispose()


def _visit(member: str, tag: str, person: int = 0):
    return document("OutpatientVisit", institution=member, document_id=f"{tag}-{uuid.uuid4().hex[:8]}",
                    patient=persons(person + 1)[person])


def _operation(name: str, **children: str) -> etree._Element:
    content = etree.Element(q(HIE, name), nsmap={"hie": HIE})
    for local, value in children.items():
        etree.SubElement(content, q(HIE, local)).text = value
    return content


def test_one_message_id_through_two_nodes_at_the_same_moment(cluster, tier_members, tier_db):
    member = tier_members["CLINIC03"]
    message_ids = []
    for n in range(ROUNDS):
        message_id = f"urn:hie:race-{n}-{uuid.uuid4().hex[:8]}"
        message_ids.append(message_id)
        content = submit_document(_visit(member.code, "RACE", n))
        # two requests of the one message (each sealed with its own timestamp), one to each node at once
        bodies = [member.seal("SubmitDocument", content, message_id=message_id) for _ in range(2)]
        barrier = threading.Barrier(2)
        answers: list = [None, None]

        def send(i: int) -> None:
            barrier.wait()
            try:
                answers[i] = receipts(member.post(cluster.node_url(i), bodies[i]))
            except Exception as error:  # noqa: BLE001 - compared below
                answers[i] = error

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert all(isinstance(answer, list) and len(answer) == 1 for answer in answers), answers
        assert answers[0] == answers[1], f"round {n}: the two nodes answered different receipts"
        receipt = read(answers[0][0], member.ca_cert)
        assert receipt.accepted and receipt.message_id == message_id
    with tier_db.connect() as db:
        rows = db.execute(text("SELECT message_id, count(*) FROM inbox_message WHERE member = :m "
                               "GROUP BY message_id"), {"m": member.code}).all()
    assert sorted(rows) == sorted((message_id, 1) for message_id in message_ids)


def test_a_request_seen_by_one_node_is_a_replay_on_the_other(cluster, tier_members):
    member = tier_members["HOSP01"]
    message_id = f"urn:uuid:{uuid.uuid4()}"
    request = member.seal("FetchReplies", _operation("FetchReplies", Max="1"), message_id=message_id)
    member.post(cluster.node_url(0), request)  # answered
    with pytest.raises(HubFault) as replayed:
        member.post(cluster.node_url(1), request)  # the very bytes again, to the other node
    assert replayed.value.code == "security.replay"
    resealed = member.seal("FetchReplies", _operation("FetchReplies", Max="1"), message_id=message_id)
    with pytest.raises(HubFault) as reused:  # a fresh timestamp does not make an old MessageID new
        member.post(cluster.node_url(1), resealed)
    assert reused.value.code == "security.replay"


def _wait_for_status(engine, message_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as db:
            status = db.execute(text("SELECT status FROM inbox_message WHERE message_id = :m"),
                                {"m": message_id}).scalar()
        if status != "accepted" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_replies_and_audit_across_nodes(cluster, tier_members, tier_db):
    member = tier_members["CLINIC01"]
    sent = {}
    for node in (0, 1):  # one message through each node directly
        message_id = f"urn:hie:node{node}-{uuid.uuid4().hex[:8]}"
        member.submit(cluster.node_url(node), "SubmitDocument", submit_document(_visit(member.code, f"N{node}")),
                      message_id=message_id)
        sent[node] = message_id
    assert _wait_for_status(tier_db, sent[0]) == "processed"
    # the acknowledgement a processor queued is fetched through node 1, acknowledged through node 0 ...
    replies = [r for r in member.client(cluster.node_url(1)).fetch_replies() if r.in_reply_to == sent[0]]
    assert [r.kind for r in replies] == ["ack"]
    assert member.client(cluster.node_url(0)).ack_replies([replies[0].reply_id]) == 1
    # ... and no node hands it out again
    for node in (0, 1):
        again = member.client(cluster.node_url(node)).fetch_replies()
        assert sent[0] not in {r.in_reply_to for r in again}
    # both nodes wrote their events into the one audit table
    with tier_db.connect() as db:
        events = db.execute(text("SELECT event_type, message_id FROM audit_event WHERE member = :m"),
                            {"m": member.code}).all()
    accepted = {message_id for event_type, message_id in events if event_type == "message.accept"}
    assert {sent[0], sent[1]} <= accepted
    kinds = [event_type for event_type, _ in events]
    assert kinds.count("reply.fetch") == 3 and kinds.count("reply.ack") == 1
