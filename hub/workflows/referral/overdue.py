"""Overdue referral steps: a deadline per state, an alert (``referral.overdue``) for the party whose turn it is.

``DEFAULT_DEADLINES``: how long a case may stay in a state before its step is overdue (a hospital answers
a request within 48 hours; the clinic confirms follow-up within 14 days of discharge). A state without a
deadline is never overdue (an accepted case waits for a stay of any length). The hub's setting
``HIE_REFERRAL_DEADLINES`` (``hub.settings``, e.g. ``requested=24h,accepted=30d``) overrides them state by
state; it reaches the moves and the check through the session factory's ``info["settings"]`` (``Hub.open``
and the command line's stores put it there), so the web workers, the processor's runner and ``hie
workflows run`` use the same deadlines. A case's ``due_at`` is set when it enters a state. ``check`` (run by
every full workflow pass, ``hub.workflows.runner.periodic``) raises one alert per case and step, owned by
the member whose turn it is; the case moving on closes it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session

from ...registry.models import Institution
from .. import alerts, notify
from ..models import Alert, AlertState
from ..runner import periodic
from .models import ReferralCase, ReferralState
from .states import Party, turn_of

KIND = "referral.overdue"
DEFAULT_DEADLINES: Mapping[ReferralState, timedelta] = MappingProxyType({
    ReferralState.REQUESTED: timedelta(hours=48),
    ReferralState.DISCHARGED: timedelta(days=14),
})
DEADLINES = DEFAULT_DEADLINES  # the name the first version exported


def deadlines(overrides: Mapping[str, timedelta] | None = None) -> dict[ReferralState, timedelta]:
    """The defaults with ``overrides`` (state → deadline, ``Settings.referral_deadlines``) put over them."""
    return {**DEFAULT_DEADLINES, **{ReferralState(state): limit for state, limit in (overrides or {}).items()}}


def deadlines_of(session: Session) -> dict[ReferralState, timedelta]:
    """The deadlines of the hub whose session factory made ``session`` (the defaults if it names no settings)."""
    settings = session.info.get("settings")
    return deadlines(getattr(settings, "referral_deadlines", None))


def due(state: ReferralState, now: datetime, *,
        deadlines: Mapping[ReferralState, timedelta] | None = None) -> datetime | None:
    """When the step of ``state`` entered at ``now`` is overdue (None: never)."""
    limit = (DEFAULT_DEADLINES if deadlines is None else deadlines).get(ReferralState(state))
    return None if limit is None else now + limit


def _key(case_id: int, state: str) -> str:
    return f"{case_id}:{state}"


def owner_of(case: ReferralCase) -> str | None:
    turn = turn_of(case.state)
    return None if turn is None else case.from_institution if turn == Party.SENDER else case.to_institution


def _late(session: Session, now: datetime):
    """The cases past their step's deadline."""
    states = sorted(s.value for s in deadlines_of(session))
    return (ReferralCase.due_at.is_not(None), ReferralCase.due_at <= now, ReferralCase.state.in_(states))


def late_unalerted(session: Session, now: datetime) -> bool:
    """Whether a case is past its step's deadline with no alert for that step yet (read before any write)."""
    key = cast(ReferralCase.id, String) + literal(":") + ReferralCase.state
    alerted = exists().where(Alert.kind == KIND, Alert.key == key)
    return bool(session.scalar(select(exists().where(*_late(session, now), ~alerted))))


@periodic(KIND, probe=late_unalerted)
def check(session: Session, now: datetime) -> int:
    """Raise the overdue alert of every case past its step's deadline (once per case and step)."""
    late = session.scalars(select(ReferralCase).where(*_late(session, now)).order_by(ReferralCase.id)).all()
    raised = 0
    for case in late:
        owner = owner_of(case)
        if owner is None:
            continue
        district = session.scalar(select(Institution.division_code).where(Institution.code == owner))
        hours = int((now - case.updated_at).total_seconds() // 3600)
        result = alerts.raise_alert(session, kind=KIND, key=_key(case.id, case.state), now=now, owner=owner,
                                    institution=owner, district=district,
                                    facts={"referral": case.id, "state": case.state, "hours_waiting": hours},
                                    occurrence=f"workflow_referral:{case.id}:{case.state}")
        if result.outcome == "opened":
            raised += 1
            notify.send(session, member=owner, kind="alert", notification=notify.for_alert(result.alert), now=now)
    return raised


def settle(session: Session, case: ReferralCase, *, state: str, now: datetime) -> None:
    """The case left ``state``: its overdue alert for that step, if any, is closed."""
    alert = session.scalars(select(Alert).where(Alert.kind == KIND, Alert.key == _key(case.id, state),
                                                Alert.state != AlertState.CLOSED.value)).one_or_none()
    if alert is not None:
        alerts.move(session, alert_id=alert.id, to=AlertState.CLOSED, actor=alerts.HUB_ACTOR, now=now,
                    note="the step was done")


__all__ = ["KIND", "DEFAULT_DEADLINES", "DEADLINES", "deadlines", "deadlines_of", "due", "owner_of", "check", "settle",
           "late_unalerted"]
