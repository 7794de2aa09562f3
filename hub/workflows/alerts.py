"""Alerts: raise-or-update per incident, the state table, history events and audit.

An alert is one incident: its ``kind`` (``hub.workflows.kinds``) and its ``key`` (e.g. disease and
district). While an alert of that kind and key is not closed, raising it again updates it (count,
last seen, facts): never a second alert. A closed alert is reopened by a new occurrence within its
kind's ``reopen_within`` window; later, a new occurrence opens a new incident. ``occurrence`` names
what raised it (``record_document:<row id>``): the same occurrence counts once, so a handler that
sees a document again (a new version, a re-run) does not count it twice.

``facts`` hold codes and counts only, never a patient value (no names, IDs, birth dates): they
travel to subscribers and into the JSON API. Every change writes a ``workflow_alert_event`` row and
an audit event (``alert.<action>``, detail ``workflow_alert:<id>``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..store.db import transaction
from .errors import WorkflowError
from .kinds import AlertKind, kind_of
from .models import Alert, AlertEvent, AlertState

# Every legal move: (from, to) → the action that makes it. Anything else is refused
# (``workflow.alert.transition``). A new occurrence of an open or acknowledged alert is an update,
# not a move; of a closed one within the window, the ``reopen`` move.
TRANSITIONS: dict[tuple[AlertState, AlertState], str] = {
    (AlertState.OPEN, AlertState.ACKNOWLEDGED): "acknowledge",
    (AlertState.OPEN, AlertState.CLOSED): "close",
    (AlertState.ACKNOWLEDGED, AlertState.CLOSED): "close",
    (AlertState.CLOSED, AlertState.OPEN): "reopen",
}
REOPEN_WITHIN = AlertKind.reopen_within  # the default window in which a new occurrence reopens a closed incident
HUB_ACTOR = "hub"  # the actor of what the workflows do by themselves
# refused moves audited (``alert.reject``, a failure event): who tried to act on an alert beyond its rights
AUDITED_REFUSALS = frozenset({"workflow.alert.denied", "access.denied"})
MAX_NOTE = 2000


def check_move(current: AlertState | str, target: AlertState | str) -> str:
    """The action moving ``current`` to ``target``; ``workflow.alert.transition`` if the table has none."""
    try:
        return TRANSITIONS[(AlertState(current), AlertState(target))]
    except KeyError:
        raise WorkflowError("workflow.alert.transition", f"{AlertState(current).value} -> {AlertState(target).value}",
                            state=AlertState(current).value) from None


@dataclass(frozen=True)
class Raised:
    """What ``raise_alert`` did: ``opened``, ``updated``, ``reopened`` or ``seen`` (the occurrence counted before)."""

    alert: Alert
    outcome: str

    @property
    def changed(self) -> bool:
        return self.outcome != "seen"


def _history(session: Session, alert: Alert, *, at: datetime, actor: str, action: str, note: str | None = None,
             occurrence: str | None = None) -> None:
    session.add(AlertEvent(alert_id=alert.id, at=at, actor=actor, action=action, note=note, occurrence=occurrence))
    audit.record(session, f"alert.{action}", member=actor, detail=f"workflow_alert:{alert.id} {alert.kind}"[:200])


def _seen(session: Session, kind: str, key: str, occurrence: str) -> bool:
    return counted_under(session, kind=kind, occurrence=occurrence) == key


def raise_alert(session: Session, *, kind: str, key: str, now: datetime, facts: dict, owner: str = "bureau",
                district: str | None = None, institution: str | None = None, occurrence: str | None = None,
                reopen_within: timedelta | None = None) -> Raised:
    """Open the incident's alert, or update (or reopen) the one there is; in the caller's transaction.
    ``reopen_within``: the kind's window unless given."""
    reopen_within = kind_of(kind).reopen_within if reopen_within is None else reopen_within
    if occurrence is not None and _seen(session, kind, key, occurrence):
        live = session.scalars(select(Alert).where(Alert.kind == kind, Alert.key == key)
                               .order_by(Alert.id.desc()).limit(1)).one()
        return Raised(live, "seen")
    document = json.dumps(facts, sort_keys=True, ensure_ascii=False)
    alert = session.scalars(select(Alert).where(Alert.kind == kind, Alert.key == key,
                                                Alert.state != AlertState.CLOSED.value)).one_or_none()
    outcome = "updated"
    if alert is None:
        last = session.scalars(select(Alert).where(Alert.kind == kind, Alert.key == key)
                               .order_by(Alert.closed_at.desc()).limit(1)).one_or_none()
        if last is not None and last.closed_at is not None and now - last.closed_at <= reopen_within:
            check_move(last.state, AlertState.OPEN)
            alert, outcome = last, "reopened"
            alert.state, alert.closed_at = AlertState.OPEN.value, None
    if alert is None:
        alert = Alert(kind=kind, key=key, district=district, institution=institution, owner=owner,
                      state=AlertState.OPEN.value, count=1, facts=document, opened_at=now, updated_at=now,
                      last_seen_at=now)
        session.add(alert)
        session.flush()
        _history(session, alert, at=now, actor=HUB_ACTOR, action="open", occurrence=occurrence)
        return Raised(alert, "opened")
    alert.count += 1
    alert.facts, alert.updated_at, alert.last_seen_at = document, now, now
    _history(session, alert, at=now, actor=HUB_ACTOR, action="reopen" if outcome == "reopened" else "update",
             occurrence=occurrence)
    return Raised(alert, outcome)


def counted_under(session: Session, *, kind: str, occurrence: str) -> str | None:
    """The key of the incident of ``kind`` that counts ``occurrence`` now (None: none, or withdrawn)."""
    events = session.execute(select(Alert.key, AlertEvent.action).join(Alert, Alert.id == AlertEvent.alert_id)
                             .where(Alert.kind == kind, AlertEvent.occurrence == occurrence)
                             .order_by(AlertEvent.id)).all()
    return events[-1].key if events and events[-1].action != "withdraw" else None


def withdraw(session: Session, *, kind: str, key: str, occurrence: str, now: datetime,
             facts: dict | None = None) -> Alert | None:
    """An occurrence retracted (a cancelled report): counted out of its alert, which otherwise stays as it is."""
    if not _seen(session, kind, key, occurrence):
        return None  # never counted there, or counted out already
    alert = session.scalars(select(Alert).join(AlertEvent, AlertEvent.alert_id == Alert.id)
                            .where(Alert.kind == kind, Alert.key == key, AlertEvent.occurrence == occurrence)
                            .order_by(Alert.id.desc()).limit(1)).first()
    alert.count = max(0, alert.count - 1)
    alert.updated_at = now
    if facts is not None:
        alert.facts = json.dumps(facts, sort_keys=True, ensure_ascii=False)
    _history(session, alert, at=now, actor=HUB_ACTOR, action="withdraw", occurrence=occurrence)
    return alert


def move(session: Session, *, alert_id: int, to: AlertState, actor: str, now: datetime, note: str | None = None,
         visible=None, scope: "AlertScope | None" = None) -> Alert:
    """Acknowledge or close an alert: ``workflow.alert.not_found`` unless the actor sees it (``visible(alert)``,
    or ``scope.sees``), ``workflow.alert.denied`` unless ``scope`` may move it (``AlertScope.may_move``)."""
    alert = session.get(Alert, alert_id)
    if alert is None or (visible is not None and not visible(alert)) or (scope is not None and not scope.sees(alert)):
        raise WorkflowError("workflow.alert.not_found", "no such alert in the caller's scope")
    if scope is not None and not scope.may_move(alert):
        raise WorkflowError("workflow.alert.denied", "the caller is not the alert's owner nor a bureau over it",
                            alert=alert.id)
    action = check_move(alert.state, to)
    alert.state, alert.updated_at = to.value, now
    if to == AlertState.CLOSED:
        alert.closed_at = now
    _history(session, alert, at=now, actor=actor, action=action, note=(note or None) and note[:MAX_NOTE])
    return alert


def audit_refusal(sessions, *, code: str, actor: str, alert_id: int, client_address: str | None = None) -> None:
    """Audit a refused move (``alert.reject`` with its code) in its own transaction: the move's rolled back."""
    with transaction(sessions) as session:
        audit.record(session, "alert.reject", code=code, member=actor, client_address=client_address,
                     detail=f"workflow_alert:{alert_id}")


def acknowledge(session: Session, *, alert_id: int, actor: str, now: datetime, note: str | None = None,
                visible=None, scope: "AlertScope | None" = None) -> Alert:
    return move(session, alert_id=alert_id, to=AlertState.ACKNOWLEDGED, actor=actor, now=now, note=note,
                visible=visible, scope=scope)


def close(session: Session, *, alert_id: int, actor: str, now: datetime, note: str | None = None,
          visible=None, scope: "AlertScope | None" = None) -> Alert:
    return move(session, alert_id=alert_id, to=AlertState.CLOSED, actor=actor, now=now, note=note, visible=visible,
                scope=scope)


@dataclass(frozen=True)
class AlertScope:
    """Which alerts a caller sees: ``None`` = no restriction on that axis; an institution's own alerts
    when ``institutions`` is given, else those of ``districts``."""

    districts: frozenset[str] | None = None
    institutions: frozenset[str] | None = None

    def sees(self, alert: Alert) -> bool:
        if self.institutions is not None:
            return alert.institution in self.institutions
        if self.districts is not None:
            return alert.district in self.districts
        return True

    def may_move(self, alert: Alert) -> bool:
        """Whether the caller may acknowledge or close ``alert``: a bureau (no institution filter) any alert it
        sees; an institution only the alerts it owns (its turn). An institution an alert is about but that
        does not own it (the bureau's drug anomaly against it) reads it and leaves its handling to the owner."""
        if not self.sees(alert):
            return False
        return self.institutions is None or alert.owner in self.institutions


def list_alerts(session: Session, *, scope: AlertScope = AlertScope(), state: str | None = None,
                kind: str | None = None, district: str | None = None, limit: int = 200) -> list[Alert]:
    """Alerts newest first, filtered, within ``scope``."""
    query = select(Alert).order_by(Alert.updated_at.desc(), Alert.id.desc()).limit(limit)
    if scope.institutions is not None:
        query = query.where(Alert.institution.in_(sorted(scope.institutions)))
    elif scope.districts is not None:
        query = query.where(Alert.district.in_(sorted(scope.districts)))
    for column, value in ((Alert.state, state), (Alert.kind, kind), (Alert.district, district)):
        if value:
            query = query.where(column == value)
    return list(session.scalars(query))


def history(session: Session, alert_id: int) -> list[AlertEvent]:
    return list(session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))


def as_dict(alert: Alert, events: list[AlertEvent] | None = None) -> dict:
    """An alert as the JSON API and ``hie alerts list --json`` show it (occurrences stay internal)."""
    kind = kind_of(alert.kind)
    found = {"id": alert.id, "kind": alert.kind, "severity": kind.severity.value, "title": kind.title,
             "title_zh": kind.title_zh, "key": alert.key, "district": alert.district,
             "institution": alert.institution, "owner": alert.owner, "state": alert.state, "count": alert.count,
             "facts": json.loads(alert.facts), "opened_at": alert.opened_at.isoformat(),
             "updated_at": alert.updated_at.isoformat(), "last_seen_at": alert.last_seen_at.isoformat(),
             "closed_at": alert.closed_at.isoformat() if alert.closed_at else None}
    if events is not None:
        found["history"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "note": e.note}
                            for e in events]
    return found


__all__ = ["TRANSITIONS", "REOPEN_WITHIN", "HUB_ACTOR", "AUDITED_REFUSALS", "AlertScope", "audit_refusal", "Raised",
           "check_move", "raise_alert",
           "counted_under", "withdraw", "move", "acknowledge", "close", "list_alerts", "history", "as_dict"]
