"""Outbreak detection wired to the cases: one alert per incident, updated as its cases accrue.

For every series (disease × district) whose cases changed in a runner batch, the daily case counts
by first diagnosis day (``cases.case_counts``) are judged by the detectors (``settings_for(disease)``:
EARS C1, C2, C3 and the CUSUM) and grouped into incidents (``incidents``). Each incident raises or
updates the alert ``disease.outbreak`` whose key is the incident's (disease, district, start): an
incident that grows updates its alert (count = its cases, facts = its days, counts and methods),
never a second one; an incident judged again with nothing new changes nothing and tells no one.
Every change is published to the ``alert.disease`` subscribers of the district. Facts are codes,
dates of the incident and counts: never a patient value.

The series runs from ``LEAD_DAYS`` before its first case (leading zeros: the baselines are full on
the first case's day), but not from before the hub's first case of any disease (``first_day``: before it
the hub knows nothing — a hub started in an influenza season does not read its first day as an
outbreak; a disease or district first seen later still has its zeros), to its last diagnosis day (not the wall clock: a replay of last year's cards
is judged as it happened), at most ``LOOKBACK_DAYS`` long; a day after the hub's today is left out.
When the window cuts days with cases, incidents detected in its first ``LEAD_DAYS`` are not judged
again (their baselines were cut: they were judged when whole). A closed alert is reopened only by more
cases in its incident, not by its end becoming known or by signals of the quiet days after it. An open
alert that no incident overlaps any more (the series judged with more cards, or with cancelled ones) is
closed by the hub as withdrawn, and told like any change.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...records.quality import local_day
from .. import alerts, notify
from ..models import Alert, AlertState
from .cases import Series, case_counts
from .models import DiseaseCase
from .detectors import CountSeries
from .incidents import Incident, incidents
from .settings import settings_for

KIND = "disease.outbreak"
TOPIC = "alert.disease"
LEAD_DAYS = 35      # zeros before a series' first case: every baseline (28 + 2 days) is full on that day
LOOKBACK_DAYS = 400  # a series is judged over at most this many days up to its last case


def first_day(session: Session) -> date | None:
    """The first diagnosis day of any case the hub holds: the start of its surveillance data."""
    return session.scalar(select(func.min(DiseaseCase.first_diagnosis)))


def series_of(session: Session, disease: str, district: str, now: datetime, *, since: date | None = None
              ) -> tuple[CountSeries | None, bool]:
    """The daily case counts of one disease and district, as the detectors read them (None: no case), and
    whether ``LOOKBACK_DAYS`` cut days with cases from its start. ``since``: the hub's first day of data
    (``first_day``); the leading zeros stop there — before it the hub knows nothing, not zero cases."""
    days = case_counts(session, disease, district)
    today = local_day(now)
    days = {day: count for day, count in days.items() if day <= today}
    if not days:
        return None, False
    end = max(days)
    lead = min(days) - timedelta(days=LEAD_DAYS)
    if since is not None:
        lead = min(max(lead, since), min(days))
    start = max(lead, end - timedelta(days=LOOKBACK_DAYS))
    return CountSeries.from_days(disease=disease, district=district, days=days, start=start, end=end), start > lead


def facts_of(incident: Incident) -> dict:
    """What the alert says of an incident: codes, its days and counts."""
    return {"disease": incident.disease, "start": incident.start.isoformat(),
            "detected": incident.detected.isoformat(), "last_signal": incident.last_signal.isoformat(),
            "end": incident.end.isoformat() if incident.end else "", "cases": incident.cases,
            "signal_days": incident.signal_days, "methods": ",".join(incident.methods)}


def _alerts_of(session: Session, disease: str, district: str) -> dict[str, Alert]:
    """The latest alert of each incident key of one disease and district."""
    found: dict[str, Alert] = {}
    for alert in session.scalars(select(Alert).where(Alert.kind == KIND, Alert.district == district,
                                                     Alert.key.startswith(f"{disease}:{district}:"))
                                 .order_by(Alert.id)):
        found[alert.key] = alert
    return found


def _span(alert: Alert) -> tuple[date, date]:
    facts = json.loads(alert.facts)
    return date.fromisoformat(facts["start"]), date.fromisoformat(facts["last_signal"])


def _overlaps(alert: Alert, incident: Incident, gap: int) -> bool:
    start, last = _span(alert)
    return start <= incident.last_signal + timedelta(days=gap) and incident.start <= last + timedelta(days=gap)


def _settled(alert: Alert, incident: Incident) -> bool:
    """A closed alert whose incident has no more cases: its end became known, or the detectors still
    signal the quiet days after it (C3 and the CUSUM carry a cluster over a day or two): nothing to reopen."""
    return alert.state == AlertState.CLOSED.value and incident.cases <= int(json.loads(alert.facts).get("cases", 0))


def assign_alerts(found: list[Incident], known: dict[str, Alert], gap: int) -> tuple[dict[int, str], list[Alert]]:
    """Which alert key each incident updates — its own key, else that of an alert raised for the same
    outbreak when fewer of its cards were in (a bulk load, late reports moving its start) — and the live
    alerts that overlap an incident but are not its alert (superseded)."""
    keys: dict[int, str] = {}
    taken: set[str] = set()
    for index, incident in enumerate(found):
        if incident.key in known:
            keys[index] = incident.key
            taken.add(incident.key)
    for index, incident in enumerate(found):
        if index not in keys:
            match = next((key for key, alert in known.items()
                          if key not in taken and _overlaps(alert, incident, gap)), None)
            keys[index] = match or incident.key
            taken.add(keys[index])
    superseded = [alert for key, alert in known.items() if key not in taken
                  and alert.state != AlertState.CLOSED.value and any(_overlaps(alert, i, gap) for i in found)]
    return keys, superseded


def withdrawn(found: list[Incident], known: dict[str, Alert], gap: int, judged_from: date) -> list[Alert]:
    """The open alerts of the judged days that no incident overlaps any more: the series judged again with
    more of its cards (a catch-up that read part of a district's cards first, late reports raising the
    baseline) or fewer (cancellations) has no aberration there. An acknowledged alert is the bureau's."""
    return [alert for alert in known.values() if alert.state == AlertState.OPEN.value
            and _span(alert)[0] >= judged_from and not any(_overlaps(alert, incident, gap) for incident in found)]


def _publish(session: Session, alert: Alert, now: datetime) -> None:
    notify.publish(session, topic=TOPIC, notification=notify.for_alert(alert), district=alert.district, now=now)


def judge(session: Session, series: Iterable[Series], now: datetime) -> list[Alert]:
    """Judge each (disease, district) again; raise or update the alert of each new or changed incident."""
    changed = []
    since = first_day(session)
    for disease, district in sorted(set(series)):
        counts, cut = series_of(session, disease, district, now, since=since)
        if counts is None:
            continue
        settings = settings_for(disease)
        judged_from = counts.start + timedelta(days=LEAD_DAYS)
        # an incident whose baselines the window cut was judged when they were whole
        found = [incident for incident in incidents(counts, methods=settings.methods, rule=settings.rule)
                 if not (cut and incident.detected < judged_from)]
        known = _alerts_of(session, disease, district)
        keys, superseded = assign_alerts(found, known, settings.rule.gap)
        for index, incident in enumerate(found):
            facts, last = facts_of(incident), known.get(keys[index])
            if last is not None and (json.loads(last.facts) == facts or _settled(last, incident)):
                continue  # judged again, nothing new
            raised = alerts.raise_alert(session, kind=KIND, key=keys[index], now=now, facts=facts, owner="bureau",
                                        district=district)
            raised.alert.count = incident.cases
            changed.append(raised.alert)
            _publish(session, raised.alert, now)
        for alert in superseded:
            alerts.close(session, alert_id=alert.id, actor=alerts.HUB_ACTOR, now=now,
                         note="superseded: the same outbreak, judged with more of its cards, is another alert")
            changed.append(alert)
            _publish(session, alert, now)
        for alert in withdrawn(found, known, settings.rule.gap, judged_from if cut else counts.start):
            alerts.close(session, alert_id=alert.id, actor=alerts.HUB_ACTOR, now=now,
                         note="withdrawn: judged again with the cards now stored, no longer above its baseline")
            changed.append(alert)
            _publish(session, alert, now)
    return changed


__all__ = ["KIND", "TOPIC", "LEAD_DAYS", "LOOKBACK_DAYS", "first_day", "series_of", "facts_of", "assign_alerts", "withdrawn",
           "judge"]
