"""A message whose processing fails by a stage's bug (not bad data) stays pending, its attempts counted and
its next try put off (``hub.chunks.retry_delay``): it is neither retried on every tick nor, a chunk's worth
of them at the head of the inbox, in the way of every message behind them. First shown by an outside
review of the multi-node tier (issue 22), on PostgreSQL; here on both backends."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from hub import pipeline
from hub.chunks import RETRY_FIRST_S, RETRY_MAX_S, retry_delay
from hub.exchange.models import Message
from hub.monitor import read_backlog
from hub.store.db import transaction
from protocol.status import MessageStatus
from protocol.timestamps import utcnow
from tests.cluster_units.processors import Seen, statuses, store  # noqa: F401 (fixture)

POISON = b"<poison/>"


class Buggy(pipeline.Stage):
    """A stage with a bug that one kind of document trips (any unexpected exception), counting its calls."""

    def __init__(self):
        self.calls_on_poison = 0

    def apply(self, session, messages, now, prepared):
        if any(m.document == POISON for m in messages):
            self.calls_on_poison += 1
            raise RuntimeError("a stage's bug")
        return {}


def test_a_chunk_of_failing_messages_at_the_head_does_not_starve_the_ones_behind(store):
    chunk = 4
    store.deliver(*[POISON] * chunk)
    good = store.deliver(*[b"<x/>"] * 3)
    buggy, seen = Buggy(), Seen()
    for _ in range(10):  # ten ticks, as two processors polling would run them between them
        pipeline.process_pending(store.sessions, [buggy, seen], limit=50, commit_every=chunk)
    assert set(good) <= set(seen.messages), (
        f"after 10 ticks the messages behind {chunk} failing ones were never processed: "
        f"{dict(statuses(store))}; the failing ones were retried {buggy.calls_on_poison} times")


def test_a_message_failing_by_a_bug_is_not_retried_on_every_tick(store):
    store.deliver(POISON)
    buggy = Buggy()
    for _ in range(20):
        pipeline.process_pending(store.sessions, [buggy], limit=50)
    assert buggy.calls_on_poison <= 3, (
        f"one message failing by a bug was retried {buggy.calls_on_poison} times in 20 ticks (no attempt "
        f"count, no back-off, no quarantine); status {dict(statuses(store))}")


def test_a_failing_message_stays_accepted_counted_and_is_retried_once_due(store):
    [row_id] = store.deliver(POISON)
    buggy = Buggy()
    pipeline.process_pending(store.sessions, [buggy], limit=50)
    with store.sessions() as session:
        message = session.get(Message, row_id)
        assert (message.status, message.attempts) == (MessageStatus.ACCEPTED.value, 1)
        assert message.retry_after > utcnow() + timedelta(seconds=RETRY_FIRST_S - 5)
        assert read_backlog(session).retrying == 1
    with transaction(store.sessions) as session:  # its time has come
        session.execute(update(Message).values(retry_after=utcnow() - timedelta(seconds=1)))
    pipeline.process_pending(store.sessions, [buggy], limit=50)
    with store.sessions() as session:
        assert session.scalar(select(Message.attempts)) == 2 and buggy.calls_on_poison == 2


def test_the_delay_doubles_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [RETRY_FIRST_S, 2 * RETRY_FIRST_S, 4 * RETRY_FIRST_S]
    assert retry_delay(50).total_seconds() == retry_delay(10_000).total_seconds() == RETRY_MAX_S
