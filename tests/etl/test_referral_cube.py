"""The referral cube's acceptance rate, turnaround and completed round trips, on known cases: up-referrals
stored through the real processor, their cases moved by the referral workflow at known times, the ETL
loads them, and the ``referrals`` cube answers exactly; a case's later moves (no new document) reach the
mart on the next incremental run. SQLite and PostgreSQL × chDB and a ClickHouse server."""
from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.registry import seed_demo
from hub.store.db import transaction
from hub.workflows import run_pass
from hub.workflows.referral import service
from hub.workflows.referral.models import ReferralCase
from olap.cubes import execute, parse_query
from protocol.timestamps import utcnow
from tests.workflows.referral_documents import down_referral, referral

CHINA = timedelta(hours=8)
MEASURES = ["referrals", "decided", "accepted", "turnaround_hours", "median_turnaround_hours", "round_trips"]


def _ask(etl) -> dict[str, dict]:
    today = (utcnow() + CHINA).date()
    body = {"measures": MEASURES, "indicators": ["acceptance_rate", "mean_turnaround_hours"],
            "group_by": ["target.institution"], "period": {"from": "2026-11-01", "to": today.isoformat()}}
    cells = execute(etl.mart, parse_query("referrals", body, today=today))["cells"]
    return {cell["target.institution"]: cell for cell in cells}


def _move(etl, case_id: int, action: str, *, hours: float | None = None, **arguments) -> None:
    """``action`` now, by the party whose turn it is; ``hours``: the case was requested that long ago."""
    now = utcnow()
    with transaction(etl.store.sessions) as session:
        case = session.get(ReferralCase, case_id)
        if hours is not None:
            case.requested_at = now - timedelta(hours=hours)
        service.act(session, case_id=case_id, action=action, actor=case.to_institution
                    if action in ("accept", "reject") else case.from_institution, now=now, **arguments)


def test_acceptance_rate_turnaround_and_round_trips(etl):
    # a run started in the second the mart's schema was applied does not count as a watermark (etl.jobs):
    # wait it out, so the second run below reads only its window
    time.sleep(max(0.0, 1.05 - (time.time() % 1)))
    with transaction(etl.store.sessions) as session:
        seed_demo(session)
    etl.deliver(*(referral(f"REF-{n:02d}") for n in range(13)))
    run_pass(etl.store.sessions)
    with etl.store.sessions() as session:
        cases = session.scalars(select(ReferralCase.id).order_by(ReferralCase.id)).all()
    assert len(cases) == 13
    for case_id in cases[:5]:  # accepted in 2 hours
        _move(etl, case_id, "accept", hours=2, appointment=utcnow() + timedelta(days=1))
    for case_id in cases[5:7]:  # accepted in 4 hours, still in hospital
        _move(etl, case_id, "accept", hours=4, appointment=utcnow() + timedelta(days=1))
    for case_id in cases[7:12]:  # rejected in 8 hours
        _move(etl, case_id, "reject", hours=8, reason="no_capacity")
    # cases[12]: not decided yet
    etl.run()
    cell = _ask(etl)["HOSP01"]
    assert {name: cell[name] for name in MEASURES} == {
        "referrals": 13, "decided": 12, "accepted": 7, "turnaround_hours": 5 * 2 + 2 * 4 + 5 * 8,
        "median_turnaround_hours": 4, "round_trips": 0}
    assert cell["acceptance_rate"] == pytest.approx(7 / 12 * 100)
    assert cell["mean_turnaround_hours"] == pytest.approx(58 / 12)

    etl.deliver(*(down_referral(f"DOWN-{n}") for n in range(5)), member="HOSP01")  # five of the seven come back
    run_pass(etl.store.sessions)
    with etl.store.sessions() as session:
        back = session.scalars(select(ReferralCase.id).where(ReferralCase.state == "discharged")).all()
    assert len(back) == 5
    for case_id in back:
        _move(etl, case_id, "follow_up")
    # the up-referrals' documents did not change since the last run (no overlap to catch them again):
    # their cases' moves re-read their facts
    second = etl.run(overlap=timedelta(0))
    assert second.watermark_from  # an incremental window, not a reload of everything
    found = _ask(etl)
    assert (found["HOSP01"]["round_trips"], found["HOSP01"]["accepted"], found["HOSP01"]["decided"]) == (5, 7, 12)
    assert found["CLINIC01"]["referrals"] == 5 and found["CLINIC01"]["decided"] == 0  # the down-referrals: sent
    assert Counter(etl.live("fact_referral", "status")["status"]) == {"followed_up": 5, "accepted": 2, "rejected": 5,
                                                                       "requested": 1, "sent": 5}
