"""The class 甲 alert as the runner drives it from stored report cards: first case opens it, more cases
update it, a cancellation or a correction counts a case out, other diseases raise nothing; subscribers
of the district are told each time."""
from __future__ import annotations

from sqlalchemy import select

from hub.exchange.models import Reply
from hub.store.db import transaction
from hub.workflows import run_pass, subscriptions
from hub.workflows.class_a import KIND, MANAGED_AS_CLASS_A, is_class_a
from hub.workflows.models import Alert
from protocol.timestamps import utcnow

from .cards import card, resident
from .reports import CHOLERA, HFMD, MEASLES, PLAGUE, SARS, cancellation, disease_report


def _alerts(store) -> dict[str, tuple[int, str]]:
    with store.sessions() as session:
        return {a.key: (a.count, a.state) for a in session.scalars(select(Alert).where(Alert.kind == KIND))}


def _told(store, member: str) -> int:
    with store.sessions() as session:
        return len(session.scalars(select(Reply.id).where(Reply.member == member, Reply.kind == "alert")).all())


def test_class_a_and_managed_as_class_a():
    assert is_class_a(*PLAGUE) and is_class_a(*CHOLERA) and is_class_a(*SARS)
    assert not is_class_a(*MEASLES) and not is_class_a(*HFMD)
    assert set(MANAGED_AS_CLASS_A) == {"201", "211"}


def test_cases_open_update_and_are_counted_out(store):
    with transaction(store.sessions) as session:
        subscriptions.subscribe(session, member="CLINIC01", topic="alert.disease", filter="330102", actor="CLINIC01",
                                now=utcnow())
    store.deliver(disease_report("R-1"), disease_report("R-2", disease=MEASLES), disease_report("R-3", disease=SARS,
                                                                                               division="330105"))
    store.process()
    run_pass(store.sessions)
    assert _alerts(store) == {"101:330102": (1, "open"), "201:330105": (1, "open")}
    assert _told(store, "CLINIC01") == 1  # only its district's

    # another person: a second case
    store.deliver(card("R-4", patient=resident(4), disease=PLAGUE, institution="HOSP01"), member="HOSP01")
    store.deliver(disease_report("R-1", version=2))  # a correction of the same card: not a new case
    store.process()
    run_pass(store.sessions)
    assert _alerts(store)["101:330102"] == (2, "open")
    assert _told(store, "CLINIC01") == 2

    store.deliver(cancellation("CXL-1", "R-1"))
    store.deliver(disease_report("R-3", disease=SARS, division="330102", version=2))  # moved to another district
    store.process()
    run_pass(store.sessions)
    assert _alerts(store) == {"101:330102": (1, "open"), "201:330105": (0, "open"), "201:330102": (1, "open")}
    assert run_pass(store.sessions).total == 0
