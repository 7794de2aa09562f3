"""Review of issue 21's referral cube (an outsider's failing test): a redirected referral's acceptance is
credited to the hospital that redirected it, not to the one that accepted."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.registry import seed_demo
from hub.store.db import transaction
from hub.workflows import run_pass
from hub.workflows.referral import service
from hub.workflows.referral.models import ReferralCase
from protocol.timestamps import utcnow
from tests.etl.test_referral_cube import _ask
from tests.workflows.referral_documents import referral


def test_a_redirected_referral_counts_as_accepted_by_the_hospital_that_accepted_it(etl):
    """Wrong number: HOSP01 redirects to HOSP02, HOSP02 accepts; the cube says HOSP01 accepted them (100 %)."""
    with transaction(etl.store.sessions) as session:
        seed_demo(session)
    etl.deliver(*(referral(f"REF-CUBE-{n:02d}") for n in range(13)))  # 13: above the cube's small-cell floor
    run_pass(etl.store.sessions)
    now = utcnow()
    with transaction(etl.store.sessions) as session:
        for case_id in session.scalars(select(ReferralCase.id).order_by(ReferralCase.id)).all():
            service.act(session, case_id=case_id, action="redirect", actor="HOSP01", now=now, reason="no_capacity",
                        to="HOSP02")
        for case_id in session.scalars(select(ReferralCase.id).where(ReferralCase.to_institution == "HOSP02")).all():
            service.act(session, case_id=case_id, action="accept", actor="HOSP02", now=now,
                        appointment=now + timedelta(days=1))
    etl.run()
    found = _ask(etl)
    accepted = {code: cell.get("accepted") for code, cell in found.items()}
    assert accepted.get("HOSP02") == 13 and accepted.get("HOSP01") in (None, 0), accepted
