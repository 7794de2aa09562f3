"""A stream through HAProxy into two nodes and two processors, one of each killed with SIGKILL mid-stream:
every message stored once and processed once, a resend of everything gets byte-identical receipts from
whichever node answers, and every synthetic person is one MPI person (issue 22)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from hub.store.db import make_engine
from protocol.status import MessageStatus

from .members import read, submit_batch, submit_document
from .stream import stream

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

SENDERS_PER_MEMBER = 2  # threads per member: six requests in flight through the balancer
BATCH = 3  # every other request of a sender is a SubmitBatch of this many messages


def _requests(messages):
    """A sender's requests: a single document, then a batch of ``BATCH``, and so on."""
    i, single = 0, True
    while i < len(messages):
        size = 1 if single else BATCH
        yield messages[i:i + size]
        i, single = i + size, not single


def _send(cluster, member, messages, receipts: dict, lock: threading.Lock) -> None:
    for part in _requests(messages):
        if len(part) == 1:
            got = member.submit(cluster.balancer_url, "SubmitDocument", submit_document(part[0].document),
                                message_id=part[0].message_id)
        else:
            got = member.submit(cluster.balancer_url, "SubmitBatch",
                                submit_batch([(m.message_id, m.document) for m in part]))
        assert len(got) == len(part)
        with lock:
            receipts.update({(m.member, m.message_id): receipt for m, receipt in zip(part, got)})


def _wait_processed(engine, timeout: float = 60.0) -> int:
    """Until no message awaits processing; returns how many still do."""
    pending = [s.value for s in MessageStatus.pending()]
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as db:
            left = db.execute(text("SELECT count(*) FROM inbox_message WHERE status = ANY(:p)"),
                              {"p": pending}).scalar()
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def test_stream_through_the_balancer_with_a_node_and_a_processor_killed(cluster, tier_members):
    by_member = stream()
    sent = [m for messages in by_member.values() for m in messages]
    total = len(sent)
    receipts: dict[tuple[str, str], bytes] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def sender(member, messages):
        try:
            _send(cluster, member, messages, receipts, lock)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(tier_members[code], messages[k::SENDERS_PER_MEMBER]))
               for code, messages in by_member.items() for k in range(SENDERS_PER_MEMBER)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(receipts) < total // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    cluster.kill_node(0)  # kill -9 mid-stream: its requests in flight are lost, their senders resend
    cluster.kill_processor(0)  # its uncommitted chunk rolls back; the other processor takes it
    killed_at = len(receipts)
    while len(receipts) < 2 * total // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    cluster.start_node(0, wait=False)  # back while the stream goes on; the balancer takes it in when healthy
    cluster.start_processor(0)
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, f"{errors[0]!r}\n{cluster.logs()}"
    assert 0 < killed_at < total and len(receipts) == total, "the kill did not happen mid-stream"
    resends = sum(member.resends for member in tier_members.values())
    assert resends > 0, "no request was cut off by the kill: nothing was resent"
    cluster.wait_node(0)
    cluster.wait_balanced()

    engine = make_engine(cluster.database_url)
    try:
        assert _wait_processed(engine) == 0, f"messages left unprocessed\n{cluster.logs()}"
        with engine.connect() as db:
            stored = db.execute(text("SELECT member, message_id, count(*) AS n FROM inbox_message "
                                     "GROUP BY member, message_id")).all()
            statuses = dict(db.execute(text("SELECT status, count(*) FROM inbox_message GROUP BY status")).all())
            acks = db.execute(text("SELECT in_reply_to, count(*) FROM outbox_reply WHERE kind = 'ack' "
                                   "GROUP BY in_reply_to")).all()
            documents = db.execute(text("SELECT count(*), count(DISTINCT message_row_id) FROM record_document")).one()
            persons = db.execute(text("SELECT count(*) FROM mpi_person WHERE status = 'active'")).scalar()
            links = db.execute(text("SELECT m.member, m.message_id, d.person_id FROM record_document d "
                                    "JOIN inbox_message m ON m.id = d.message_row_id")).all()
        # every MessageID stored exactly once
        assert {(row.member, row.message_id) for row in stored} == {(m.member, m.message_id) for m in sent}
        assert all(row.n == 1 for row in stored)
        # every message processed (or rejected) exactly once: one acknowledgement each, one record row each
        assert set(statuses) <= {MessageStatus.PROCESSED.value, MessageStatus.REJECTED.value}, statuses
        assert statuses.get(MessageStatus.PROCESSED.value) == total, statuses
        assert len(acks) == total and all(count == 1 for _, count in acks), "a message was processed twice"
        assert tuple(documents) == (total, total)
        # no duplicate persons: one MPI person per synthetic person
        truth = {(m.member, m.message_id): m.person for m in sent}
        found: dict[int, set[int]] = {}
        for row in links:
            found.setdefault(truth[(row.member, row.message_id)], set()).add(row.person_id)
        split = {person: sorted(ids) for person, ids in found.items() if len(ids) > 1}
        distinct = len({m.person for m in sent})
        assert not split, f"synthetic persons split into several MPI persons: {split}"
        assert persons == distinct, f"{persons} MPI persons for {distinct} synthetic persons"
    finally:
        engine.dispose()

    # a resend of every message through the balancer gets the very bytes of its first receipt
    def resend(m):
        return m, tier_members[m.member].submit(cluster.balancer_url, "SubmitDocument", submit_document(m.document),
                                                message_id=m.message_id)

    with ThreadPoolExecutor(len(threads)) as pool:
        for m, again in pool.map(resend, sent):
            assert again == [receipts[(m.member, m.message_id)]], f"the receipt of {m.message_id} changed"
    first = read(receipts[(sent[0].member, sent[0].message_id)], tier_members[sent[0].member].ca_cert)
    assert first.accepted and first.message_id == sent[0].message_id
    stats = cluster.balancer_stats()
    assert all(int(stats[f"node{i}"]["stot"]) > 0 for i in range(2)), "the balancer used one node only"
    print(f"{total} messages, {resends} resends after the kill, balancer: "
          f"{ {name: row['stot'] for name, row in stats.items()} }")
