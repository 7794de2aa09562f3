"""Alerts: the state table over every pair of states, raise-or-update per incident, reopening within the
window, occurrences counted once, history and audit."""
from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from hub.audit import AuditEvent
from hub.store.db import transaction
from hub.workflows import alerts
from hub.workflows.alerts import TRANSITIONS, AlertScope, check_move
from hub.workflows.errors import WorkflowError
from hub.workflows.kinds import ALERT_KINDS
from hub.workflows.models import Alert, AlertState

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
ALLOWED = {(AlertState.OPEN, AlertState.ACKNOWLEDGED), (AlertState.OPEN, AlertState.CLOSED),
           (AlertState.ACKNOWLEDGED, AlertState.CLOSED), (AlertState.CLOSED, AlertState.OPEN)}


@pytest.mark.parametrize("current, target", list(itertools.product(AlertState, AlertState)),
                         ids=lambda state: state.value)
def test_every_pair_of_states(current, target):
    if (current, target) in ALLOWED:
        assert check_move(current, target) == TRANSITIONS[(current, target)]
    else:
        with pytest.raises(WorkflowError) as refused:
            check_move(current, target)
        assert refused.value.code == "workflow.alert.transition"


def test_the_table_is_exactly_the_allowed_moves():
    assert set(TRANSITIONS) == ALLOWED


def _raise(session, occurrence, *, now=T0, key="101:330102", **facts):
    return alerts.raise_alert(session, kind="disease.class_a", key=key, now=now, facts={"disease": "101", **facts},
                              district=key.partition(":")[2], occurrence=occurrence)


def _count(session, model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.scalar(query)


def test_raising_again_updates_the_one_alert_and_counts_each_occurrence_once(store):
    with transaction(store.sessions) as session:
        first = _raise(session, "record_document:1")
        again = _raise(session, "record_document:2", now=T0 + timedelta(hours=1), cases="2")
        repeat = _raise(session, "record_document:2", now=T0 + timedelta(hours=2))
        other = _raise(session, "record_document:3", key="101:330105")
    assert (first.outcome, again.outcome, repeat.outcome, other.outcome) == ("opened", "updated", "seen", "opened")
    assert first.alert.id == again.alert.id != other.alert.id
    with store.sessions() as session:
        alert = session.get(Alert, first.alert.id)
        assert (alert.count, alert.state, alert.last_seen_at, json.loads(alert.facts)) == (
            2, "open", T0 + timedelta(hours=1), {"disease": "101", "cases": "2"})
        assert [e.action for e in alerts.history(session, alert.id)] == ["open", "update"]
        assert _count(session, AuditEvent, event_type="alert.open") == 2
        assert _count(session, AuditEvent, event_type="alert.update") == 1


def test_acknowledge_close_and_illegal_moves_are_refused_with_history(store):
    with transaction(store.sessions) as session:
        alert_id = _raise(session, "record_document:1").alert.id
    with transaction(store.sessions) as session:
        alerts.acknowledge(session, alert_id=alert_id, actor="BUREAU", now=T0 + timedelta(minutes=5), note="已核实")
    with pytest.raises(WorkflowError) as refused, transaction(store.sessions) as session:
        alerts.acknowledge(session, alert_id=alert_id, actor="BUREAU", now=T0)
    assert refused.value.code == "workflow.alert.transition"
    with transaction(store.sessions) as session:
        _raise(session, "record_document:2", now=T0 + timedelta(minutes=10))  # stays acknowledged, counts
        alerts.close(session, alert_id=alert_id, actor="BUREAU", now=T0 + timedelta(hours=1), note="处置完毕")
    with pytest.raises(WorkflowError) as missing, transaction(store.sessions) as session:
        alerts.close(session, alert_id=alert_id + 100, actor="BUREAU", now=T0)
    assert missing.value.code == "workflow.alert.not_found"
    with store.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert (alert.state, alert.count, alert.closed_at) == ("closed", 2, T0 + timedelta(hours=1))
        events = alerts.history(session, alert_id)
        assert [(e.actor, e.action, e.note) for e in events] == [
            ("hub", "open", None), ("BUREAU", "acknowledge", "已核实"), ("hub", "update", None),
            ("BUREAU", "close", "处置完毕")]
        assert _count(session, AuditEvent, event_type="alert.close", member="BUREAU") == 1


def test_a_closed_incident_reopens_within_the_window_and_is_new_after_it(store):
    with transaction(store.sessions) as session:
        alert_id = _raise(session, "record_document:1").alert.id
        alerts.close(session, alert_id=alert_id, actor="BUREAU", now=T0)
    with transaction(store.sessions) as session:
        reopened = _raise(session, "record_document:2", now=T0 + alerts.REOPEN_WITHIN - timedelta(minutes=1))
        assert (reopened.outcome, reopened.alert.id, reopened.alert.state) == ("reopened", alert_id, "open")
        alerts.close(session, alert_id=alert_id, actor="BUREAU", now=T0 + timedelta(days=7))
    with transaction(store.sessions) as session:
        fresh = _raise(session, "record_document:3", now=T0 + timedelta(days=7) + alerts.REOPEN_WITHIN
                       + timedelta(minutes=1))
        assert fresh.outcome == "opened" and fresh.alert.id != alert_id and fresh.alert.count == 1


def test_a_withdrawn_occurrence_is_counted_out_once(store):
    with transaction(store.sessions) as session:
        alert_id = _raise(session, "record_document:1").alert.id
        _raise(session, "record_document:2")
        assert alerts.withdraw(session, kind="disease.class_a", key="101:330102", occurrence="record_document:2",
                               now=T0) is not None
        assert alerts.withdraw(session, kind="disease.class_a", key="101:330102", occurrence="record_document:2",
                               now=T0) is None
        assert alerts.counted_under(session, kind="disease.class_a", occurrence="record_document:2") is None
        assert session.get(Alert, alert_id).count == 1


def test_scopes_see_their_district_or_their_institution(store):
    with transaction(store.sessions) as session:
        for key, institution in (("101:330102", None), ("101:330105", None), ("102:330105", "CLINIC02")):
            alerts.raise_alert(session, kind="disease.class_a", key=key, now=T0, facts={},
                               district=key.partition(":")[2], institution=institution)
    with store.sessions() as session:
        everything = alerts.list_alerts(session)
        district = alerts.list_alerts(session, scope=AlertScope(districts=frozenset({"330102"})))
        clinic = alerts.list_alerts(session, scope=AlertScope(districts=frozenset({"330105"}),
                                                              institutions=frozenset({"CLINIC02"})))
        filtered = alerts.list_alerts(session, district="330105", kind="disease.class_a", state="open")
    assert len(everything) == 3
    assert [a.key for a in district] == ["101:330102"]
    assert [a.key for a in clinic] == ["102:330105"]
    assert sorted(a.key for a in filtered) == ["101:330105", "102:330105"]


def test_kinds_are_registered_with_both_titles():
    for code, kind in ALERT_KINDS.items():
        assert kind.code == code and kind.title and kind.title_zh
    with pytest.raises(ValueError):
        alerts.raise_alert(None, kind="no.such.kind", key="k", now=T0, facts={})
