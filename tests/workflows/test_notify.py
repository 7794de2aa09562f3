"""Notifications: every one the code builds conforms to schemas/workflow/Notification.xsd; ``send``
queues one reply for the party, ``publish`` one per matching subscriber only."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from lxml import etree
from sqlalchemy import select

from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.workflows import notify, subscriptions
from hub.workflows.kinds import ALERT_KINDS
from hub.workflows.models import Alert
from protocol.ns import WORKFLOW

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def _alert(kind: str, **changes) -> Alert:
    values = dict(id=7, kind=kind, key="101:330102", district="330102", institution=None, owner="bureau",
                  state="open", count=3, facts=json.dumps({"disease": "101", "managed_as": "A", "nested": {"x": 1}}),
                  opened_at=T0, updated_at=T0, last_seen_at=T0)
    values.update(changes)
    return Alert(**values)


@pytest.mark.parametrize("kind", sorted(ALERT_KINDS))
@pytest.mark.parametrize("state", ["open", "acknowledged", "closed"])
def test_every_alert_notification_conforms(kind, state):
    content = notify.for_alert(_alert(kind, state=state, institution="CLINIC01")).to_xml()
    root = etree.fromstring(content)
    assert notify.schema().validate(root), notify.schema().error_log
    assert root.tag == f"{{{WORKFLOW}}}Notification"
    assert root.findtext(f"{{{WORKFLOW}}}State") == state
    assert {f.get("code"): f.get("value") for f in root.iter(f"{{{WORKFLOW}}}Fact")} == {
        "disease": "101", "managed_as": "A"}  # codes and counts; nothing nested


def test_a_notification_outside_the_schema_is_refused():
    with pytest.raises(ValueError):
        notify.Notification(kind="Not Dotted", subjects=(("alert", "1"),), state="open", time=T0).to_xml()
    with pytest.raises(ValueError):
        notify.Notification(kind="referral.update", subjects=(), state="open", time=T0).to_xml()


def test_send_and_publish_reach_exactly_whom_they_should(store):
    notification = notify.for_alert(_alert("disease.class_a"))
    with transaction(store.sessions) as session:
        for member, district in (("CLINIC01", "330102"), ("HOSP02", "330105"), ("CDC01", None)):
            subscriptions.subscribe(session, member=member, topic="alert.disease", filter=district, actor=member,
                                    now=T0)
        subscriptions.subscribe(session, member="CLINIC02", topic="recall", filter=None, actor="CLINIC02", now=T0)
        told = notify.publish(session, topic="alert.disease", notification=notification, district="330102", now=T0)
        notify.send(session, member="HOSP01", kind="referral", notification=notification, now=T0)
        with pytest.raises(ValueError):
            notify.send(session, member="HOSP01", kind="ack", notification=notification, now=T0)
    assert told == ["CDC01", "CLINIC01"]
    with store.sessions() as session:
        rows = session.execute(select(Reply.member, Reply.kind, Reply.content).order_by(Reply.member)).all()
    assert [(r.member, r.kind) for r in rows] == [("CDC01", "alert"), ("CLINIC01", "alert"), ("HOSP01", "referral")]
    for row in rows:
        assert notify.schema().validate(etree.fromstring(row.content))


def test_unknown_topics_and_filters_are_refused(store):
    cases = [("alerts", None, "topic"), ("recall", "330102", "filter"), ("alert.disease", "330100", "filter"),
             ("alert.disease", "999999", "filter")]  # a city is no district; an unknown code neither
    with store.sessions() as session:
        for topic, filter, field in cases:
            with pytest.raises(subscriptions.WorkflowError) as refused:
                subscriptions.check(session, topic=topic, filter=filter)
            assert refused.value.code == "workflow.subscription.invalid" and refused.value.fields["field"] == field


def test_subscribing_twice_keeps_one_and_unsubscribing_removes_it(store):
    with transaction(store.sessions) as session:
        first = subscriptions.subscribe(session, member="CLINIC01", topic="alert.disease", filter="330102",
                                        actor="CLINIC01", now=T0)
        again = subscriptions.subscribe(session, member="CLINIC01", topic="alert.disease", filter="330102",
                                        actor="CLINIC01", now=T0)
        assert first.id == again.id
        assert subscriptions.unsubscribe(session, member="CLINIC01", topic="alert.disease", filter="330102",
                                         actor="CLINIC01") == 1
        assert subscriptions.list_for(session, member="CLINIC01") == []
