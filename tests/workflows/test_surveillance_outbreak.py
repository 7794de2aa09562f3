"""Outbreak detection wired to the cases: a cluster in one district raises ONE disease.outbreak alert
(owner bureau, facts codes and counts), which is updated as the incident grows, never doubled; a second
card of a case already counted changes nothing; subscribers of the district are told, others not."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from hub.exchange.models import Reply
from hub.records.quality import local_day
from hub.store.db import transaction
from hub.workflows import alerts, run_pass, subscriptions
from hub.workflows.models import Alert, AlertEvent
from hub.workflows.surveillance.outbreaks import KIND, LEAD_DAYS, LOOKBACK_DAYS, series_of
from protocol.timestamps import utcnow

from .cards import card, resident

DISTRICT = "330105"


def _outbreaks(store) -> list[Alert]:
    with store.sessions() as session:
        found = list(session.scalars(select(Alert).where(Alert.kind == KIND).order_by(Alert.id)))
        session.expunge_all()
        return found


def _told(store, member: str) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(Reply).where(Reply.member == member,
                                                                             Reply.kind == "alert"))


def test_a_cluster_raises_one_alert_that_grows(store):
    with transaction(store.sessions) as session:
        for member, district in (("CLINIC02", DISTRICT), ("CLINIC01", "330102")):
            subscriptions.subscribe(session, member=member, topic="alert.disease", filter=district, actor=member,
                                    now=utcnow())
    first = local_day(utcnow()) - timedelta(days=60)
    serial = iter(range(100, 999))

    def cases(day_offset: int, n: int, prefix: str):
        day = first + timedelta(days=day_offset)
        return [card(f"{prefix}-{day_offset}-{i}", patient=resident(next(serial)), division=DISTRICT, onset=day,
                     institution="CLINIC02") for i in range(n)]

    background = [doc for offset in range(0, 40, 4) for doc in cases(offset, 1, "B")]
    store.deliver(*background, *cases(41, 5, "O"), *cases(42, 6, "O"), member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    (alert,) = _outbreaks(store)
    facts = json.loads(alert.facts)
    assert (alert.key, alert.district, alert.owner, alert.state, alert.count) == (
        f"310:{DISTRICT}:{facts['start']}", DISTRICT, "bureau", "open", 11)
    assert facts["disease"] == "310" and facts["detected"] == (first + timedelta(days=41)).isoformat()
    assert set(facts) == {"disease", "start", "detected", "last_signal", "end", "cases", "signal_days", "methods"}
    assert _told(store, "CLINIC02") == 1 and _told(store, "CLINIC01") == 0

    store.deliver(*cases(43, 8, "O"), member="CLINIC02")  # the incident grows: the same alert, updated
    store.process()
    run_pass(store.sessions)
    (grown,) = _outbreaks(store)
    assert (grown.id, grown.key, grown.count) == (alert.id, alert.key, 19)
    assert json.loads(grown.facts)["last_signal"] == (first + timedelta(days=43)).isoformat()
    assert _told(store, "CLINIC02") == 2

    # the hospital reports a patient the clinic already reported: one more card, no more cases
    store.deliver(card("H-1", patient=resident(100 + 10), division=DISTRICT, onset=first + timedelta(days=41),
                       institution="HOSP01"), member="HOSP01")
    store.process()
    run_pass(store.sessions)
    (same,) = _outbreaks(store)
    assert same.count == 19 and same.updated_at == grown.updated_at and _told(store, "CLINIC02") == 2
    with store.sessions() as session:
        assert [e.action for e in session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                                                  .order_by(AlertEvent.id))] == ["open", "update"]


def test_a_closed_incident_is_reopened_by_more_cases_only(store):
    first = local_day(utcnow()) - timedelta(days=80)
    serial = iter(range(300, 999))

    def cases(day_offset: int, n: int):
        day = first + timedelta(days=day_offset)
        return [card(f"Q-{day_offset}-{i}", patient=resident(next(serial)), division=DISTRICT, onset=day,
                     institution="CLINIC02") for i in range(n)]

    store.deliver(*[doc for offset in range(0, 40, 4) for doc in cases(offset, 1)], *cases(41, 6), *cases(42, 6),
                  member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    (alert,) = _outbreaks(store)
    assert json.loads(alert.facts)["end"] == ""  # the series ends on its last case: it may go on
    with transaction(store.sessions) as session:
        alerts.close(session, alert_id=alert.id, actor="BUREAU", now=utcnow(), note="处置完毕")
    store.deliver(*cases(60, 1), member="CLINIC02")  # a lone case weeks later: the incident has ended
    store.process()
    run_pass(store.sessions)
    (same,) = _outbreaks(store)
    assert (same.id, same.state, json.loads(same.facts)) == (alert.id, "closed", json.loads(alert.facts))

    store.deliver(*cases(43, 5), member="CLINIC02")  # late cards of the cluster's days: more cases, reopened
    store.process()
    run_pass(store.sessions)
    (reopened,) = _outbreaks(store)
    assert (reopened.id, reopened.state, reopened.count) == (alert.id, "open", 17)


def test_a_series_runs_from_before_its_first_case_to_its_last_at_most_the_lookback(store):
    today = local_day(utcnow())
    store.deliver(card("L-1", patient=resident(1), division=DISTRICT, onset=today - timedelta(days=500),
                       institution="CLINIC02"), member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    with store.sessions() as session:
        series, cut = series_of(session, "310", DISTRICT, utcnow())
        assert (series.start, series.end, cut) == (today - timedelta(days=500 + LEAD_DAYS),
                                                   today - timedelta(days=500), False)
    store.deliver(card("L-2", patient=resident(2), division=DISTRICT, onset=today, institution="CLINIC02"),
                  card("L-3", patient=resident(3), division=DISTRICT, onset=today + timedelta(days=3),
                       institution="CLINIC02"), member="CLINIC02")  # a typed future day: left out
    store.process()
    run_pass(store.sessions)
    with store.sessions() as session:
        series, cut = series_of(session, "310", DISTRICT, utcnow())
        assert (series.start, series.end, cut, sum(series.counts)) == (
            today - timedelta(days=LOOKBACK_DAYS), today, True, 1)


def test_late_cards_that_move_an_incidents_start_update_its_alert_not_a_second_one(store):
    first = local_day(utcnow()) - timedelta(days=70)
    serial = iter(range(500, 999))

    def cases(day_offset: int, n: int, institution: str = "CLINIC02"):
        day = first + timedelta(days=day_offset)
        return [card(f"S-{institution}-{day_offset}-{i}", patient=resident(next(serial)), division=DISTRICT,
                     onset=day, institution=institution) for i in range(n)]

    store.deliver(*[doc for offset in range(0, 40, 4) for doc in cases(offset, 1)], *cases(42, 6), *cases(43, 6),
                  member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    (alert,) = _outbreaks(store)
    # the hospital's cards of the days before come in late: the incident now starts earlier
    store.deliver(*cases(40, 5, "HOSP01"), *cases(41, 5, "HOSP01"), member="HOSP01")
    store.process()
    run_pass(store.sessions)
    (moved,) = [a for a in _outbreaks(store) if a.state != "closed"]
    facts = json.loads(moved.facts)
    assert (moved.id, moved.key) == (alert.id, alert.key) and facts["start"] < json.loads(alert.facts)["start"]
    assert moved.count == facts["cases"] > alert.count


def test_incidents_keep_the_alert_of_their_outbreak_and_an_alert_they_joined_is_superseded():
    from datetime import date

    from hub.workflows.surveillance.incidents import Incident
    from hub.workflows.surveillance.outbreaks import assign_alerts

    def alert(start: str, last: str, state: str = "open") -> Alert:
        return Alert(key=f"310:{DISTRICT}:{start}", state=state,
                     facts=json.dumps({"start": start, "last_signal": last}))

    def incident(start: str, last: str) -> Incident:
        return Incident("310", DISTRICT, date.fromisoformat(start), date.fromisoformat(start), date.fromisoformat(last),
                        None, 30, 4, ("CUSUM",))

    known = {a.key: a for a in (alert("2026-01-10", "2026-01-12"), alert("2026-01-16", "2026-01-17"),
                                alert("2026-03-01", "2026-03-02"), alert("2026-01-15", "2026-01-15", "closed"))}
    # late cards joined the two January incidents into one that starts a day earlier; March is untouched
    keys, superseded = assign_alerts([incident("2026-01-09", "2026-01-17"), incident("2026-03-01", "2026-03-02")], known, 3)
    assert keys == {0: f"310:{DISTRICT}:2026-01-10", 1: f"310:{DISTRICT}:2026-03-01"}
    assert [a.key for a in superseded] == [f"310:{DISTRICT}:2026-01-16"]  # the closed one stays as it is
    keys, superseded = assign_alerts([incident("2026-06-01", "2026-06-03")], known, 3)  # a new outbreak: its own key
    assert (keys, superseded) == ({0: f"310:{DISTRICT}:2026-06-01"}, [])


def test_an_open_alert_no_incident_overlaps_any_more_is_withdrawn():
    from datetime import date

    from hub.workflows.surveillance.incidents import Incident
    from hub.workflows.surveillance.outbreaks import withdrawn

    def alert(start: str, last: str, state: str = "open") -> Alert:
        return Alert(key=f"301:{DISTRICT}:{start}", state=state,
                     facts=json.dumps({"start": start, "last_signal": last}))

    def incident(start: str, last: str) -> Incident:
        return Incident("301", DISTRICT, date.fromisoformat(start), date.fromisoformat(start), date.fromisoformat(last),
                        None, 30, 4, ("CUSUM",))

    known = {a.key: a for a in (alert("2026-01-10", "2026-01-12"), alert("2026-02-20", "2026-02-21"),
                                alert("2026-03-01", "2026-03-02", "acknowledged"), alert("2025-11-02", "2025-11-03"),
                                alert("2026-04-01", "2026-04-01", "closed"))}
    # judged again with every card in: only January's incident is left (the catch-up's February one is gone);
    # March was acknowledged (the bureau's), November lies before the judged days, April is closed already
    gone = withdrawn([incident("2026-01-09", "2026-01-14")], known, 3, date(2025, 12, 1))
    assert [a.key for a in gone] == [f"301:{DISTRICT}:2026-02-20"]


def test_an_alert_whose_incident_late_cards_dissolve_is_withdrawn(store):
    # a hospital's cards of the same weeks arrive after the clinic's (a catch-up, a late batch): with them
    # the clinic's burst is the district's ordinary level, and its alert is closed by the hub
    first = local_day(utcnow()) - timedelta(days=70)
    serial = iter(range(500, 999))

    def cases(day_offset: int, n: int, institution: str):
        day = first + timedelta(days=day_offset)
        return [card(f"{institution}-{day_offset}-{i}", patient=resident(next(serial)), division=DISTRICT,
                     onset=day, institution=institution) for i in range(n)]

    store.deliver(*[doc for offset in range(0, 40, 4) for doc in cases(offset, 1, "CLINIC02")],
                  *cases(41, 5, "CLINIC02"), *cases(42, 6, "CLINIC02"), member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    (alert,) = _outbreaks(store)
    assert alert.state == "open" and alert.count == 11
    store.deliver(*[doc for offset in range(0, 43) for doc in cases(offset, 10, "HOSP01")], member="HOSP01")
    store.process()
    run_pass(store.sessions)
    withdrawn = next(a for a in _outbreaks(store) if a.id == alert.id)
    assert withdrawn.state == "closed"
    with store.sessions() as session:
        last = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                               .order_by(AlertEvent.id.desc())).first()
        assert (last.action, last.actor) == ("close", alerts.HUB_ACTOR) and last.note.startswith("withdrawn")
    # no live alert of the clinic's burst is left (the hospital's first days open one of their own)
    assert all(json.loads(a.facts)["start"] < (first + timedelta(days=30)).isoformat()
               for a in _outbreaks(store) if a.state != "closed")


def test_the_hubs_first_day_of_data_is_no_outbreak_a_later_first_cluster_is(store):
    # the hub starts in a season: 15 cases on its first day in one district are where its data begin, not
    # an excess over zeros; another district's first cases three weeks later still rise above its zeros
    first = local_day(utcnow()) - timedelta(days=40)
    serial = iter(range(100, 999))

    def cases(day_offset: int, n: int, division: str):
        day = first + timedelta(days=day_offset)
        return [card(f"F-{division}-{day_offset}-{i}", patient=resident(next(serial)), division=division, onset=day,
                     institution="CLINIC02") for i in range(n)]

    store.deliver(*cases(0, 15, DISTRICT), *[doc for offset in range(1, 25) for doc in cases(offset, 1, DISTRICT)],
                  *cases(22, 12, "330102"), member="CLINIC02")
    store.process()
    run_pass(store.sessions)
    assert [(a.district, json.loads(a.facts)["detected"]) for a in _outbreaks(store)] == [
        ("330102", (first + timedelta(days=22)).isoformat())]
