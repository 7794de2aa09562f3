"""Review of issue 21's disease surveillance (an outsider's failing tests): the class 甲 alert counts cards,
not cases."""
from __future__ import annotations

from sqlalchemy import select

from hub.workflows import run_pass
from hub.workflows.class_a import KIND
from hub.workflows.models import Alert
from tests.workflows.reports import PLAGUE, disease_report


def test_one_plague_patient_reported_by_two_institutions_is_one_case_in_the_class_a_alert(store):
    """Wrong number: CLINIC01 and HOSP01 report the same plague patient; the class 甲 alert says 2 cases."""
    store.deliver(disease_report("R-P1", disease=PLAGUE))
    store.deliver(disease_report("R-P2", disease=PLAGUE, institution="HOSP01"), member="HOSP01")
    assert store.process() == 2
    run_pass(store.sessions)
    with store.sessions() as session:
        counts = [(a.key, a.count) for a in session.scalars(select(Alert).where(Alert.kind == KIND))]
    assert counts == [("101:330102", 1)]
