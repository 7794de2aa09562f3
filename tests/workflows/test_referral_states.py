"""The referral state table, exhaustively: every (state, action) pair, first as the table answers it, then
through the service on a stored case (SQLite and PostgreSQL): a legal move by its party moves the case,
writes its history and an audit event and tells the other party; the other party is refused
(``workflow.referral.turn``); every pair not in the table is refused (``workflow.referral.transition``)
and leaves the case as it was."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.audit import AuditEvent
from hub.exchange.models import Reply
from hub.records.models import RecordDocument
from hub.store.db import transaction
from hub.workflows import run_pass
from hub.workflows.errors import WorkflowError
from hub.workflows.referral import service
from hub.workflows.referral.models import ReferralCase, ReferralEvent, ReferralState
from hub.workflows.referral.states import FINAL, TRANSITIONS, Action, Party, check_move, turn_of
from protocol.timestamps import utcnow

from .referral_documents import referral

PAIRS = [(state, action) for state in ReferralState for action in Action]
EXPECTED = {  # the table written out again, as docs/workflows.md shows it
    ("requested", "accept"): ("accepted", "receiver"), ("requested", "reject"): ("rejected", "receiver"),
    ("requested", "redirect"): ("redirected", "receiver"), ("requested", "cancel"): ("cancelled", "sender"),
    ("accepted", "cancel"): ("cancelled", "sender"), ("accepted", "arrive"): ("arrived", "receiver"),
    ("accepted", "discharge"): ("discharged", "receiver"), ("accepted", "close"): ("closed", "receiver"),
    ("arrived", "discharge"): ("discharged", "receiver"), ("arrived", "close"): ("closed", "receiver"),
    ("discharged", "follow_up"): ("followed_up", "sender"),
    ("requested", "correct"): ("redirected", "sender"),  # a new version of the up-referral names another hospital
    ("arrived", "cancel"): ("arrived", "sender"), ("discharged", "cancel"): ("discharged", "sender"),
}


def test_the_table_is_the_documented_one():
    assert {(s.value, a.value): (m.to.value, m.party.value) for (s, a), m in TRANSITIONS.items()} == EXPECTED
    assert FINAL == {ReferralState.REJECTED, ReferralState.REDIRECTED, ReferralState.FOLLOWED_UP,
                     ReferralState.CLOSED, ReferralState.CANCELLED}
    assert turn_of("requested") == Party.RECEIVER and turn_of("discharged") == Party.SENDER
    assert turn_of("accepted") == Party.RECEIVER and turn_of("followed_up") is None


@pytest.mark.parametrize("state, action", PAIRS, ids=[f"{s.value}-{a.value}" for s, a in PAIRS])
def test_every_pair_of_the_table(state, action):
    move = TRANSITIONS.get((state, action))
    if move is None:
        with pytest.raises(WorkflowError) as refused:
            check_move(state, action)
        assert refused.value.code == "workflow.referral.transition"
        return
    assert check_move(state, action, move.party) == move
    other = Party.SENDER if move.party == Party.RECEIVER else Party.RECEIVER
    with pytest.raises(WorkflowError) as refused:
        check_move(state, action, other)
    assert refused.value.code == "workflow.referral.turn"


def _counts(session, case_id: int) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(ReferralEvent).where(ReferralEvent.case_id == case_id)),
            session.scalar(select(func.count()).select_from(Reply).where(Reply.kind == "referral")),
            session.scalar(select(func.count()).select_from(AuditEvent)))


def _arguments(action: Action) -> dict:
    return {Action.ACCEPT: {"appointment": utcnow() + timedelta(days=2)},
            Action.REJECT: {"reason": "no_capacity"},
            Action.REDIRECT: {"reason": "out_of_scope", "to": "HOSP02"}}.get(action, {})


def test_every_pair_through_the_service(store):
    store.deliver(referral("REF-1"))
    store.process()
    run_pass(store.sessions)
    with store.sessions() as session:
        (case,) = session.scalars(select(ReferralCase)).all()
        case_id, document_row_id = case.id, case.document_row_id
    parties = {Party.SENDER: "CLINIC01", Party.RECEIVER: "HOSP01"}
    for state, action in PAIRS:
        with store.sessions() as session:  # every attempt rolled back: the case starts from ``state`` each time
            case = session.get(ReferralCase, case_id)
            case.state = state.value
            session.flush()
            events, replies, audits = _counts(session, case_id)
            move = TRANSITIONS.get((state, action))
            now = utcnow()
            if action == Action.DISCHARGE:  # the down-referral document's move, never a call
                with pytest.raises(WorkflowError) as refused:
                    service.act(session, case_id=case_id, action=action, actor="HOSP01", now=now)
                assert refused.value.code == "workflow.referral.invalid"
                person = session.get(RecordDocument, document_row_id).person_id
                moved = service.discharge(session, sender="HOSP01", receiver="CLINIC01", person_id=person,
                                          down_document_row_id=document_row_id, now=now)
                assert (moved is not None) == (move is not None), (state, action)
                if move is None:
                    assert _counts(session, case_id) == (events, replies, audits)
                    session.rollback()
                    continue
            elif action == Action.CORRECT:  # a new version of the up-referral document, never a call
                with pytest.raises(WorkflowError) as refused:
                    service.act(session, case_id=case_id, action=action, actor="CLINIC01", now=now)
                assert refused.value.code == "workflow.referral.invalid"
                moved = service.correct_by_document(session, case=session.get(ReferralCase, case_id), to="HOSP02",
                                                    department=None, now=now)
                assert moved == (move is not None), (state, action)
                if move is None:  # refused: in the history, the audit and a notice to the sender; the case stays
                    assert session.get(ReferralCase, case_id).state == state.value
                    assert _counts(session, case_id) == (events + 1, replies + 1, audits + 1)
                    assert session.scalars(select(Reply.member).where(Reply.kind == "referral")
                                           .order_by(Reply.id.desc()).limit(1)).all() == ["CLINIC01"]
                    session.rollback()
                    continue
            elif move is None:
                for actor in parties.values():
                    with pytest.raises(WorkflowError) as refused:
                        service.act(session, case_id=case_id, action=action, actor=actor, now=now,
                                    **_arguments(action))
                    assert refused.value.code == "workflow.referral.transition", (state, action)
                assert session.get(ReferralCase, case_id).state == state.value
                assert _counts(session, case_id) == (events, replies, audits)
                session.rollback()
                continue
            else:
                wrong = parties[Party.SENDER if move.party == Party.RECEIVER else Party.RECEIVER]
                with pytest.raises(WorkflowError) as refused:
                    service.act(session, case_id=case_id, action=action, actor=wrong, now=now, **_arguments(action))
                assert refused.value.code == "workflow.referral.turn", (state, action)
                with pytest.raises(WorkflowError) as refused:
                    service.act(session, case_id=case_id, action=action, actor="CLINIC02", now=now,
                                **_arguments(action))
                assert refused.value.code == "workflow.referral.not_found"
                service.act(session, case_id=case_id, action=action, actor=parties[move.party], now=now,
                            **_arguments(action))
            assert session.get(ReferralCase, case_id).state == move.to.value, (state, action)
            after = _counts(session, case_id)
            redirected = action in (Action.REDIRECT, Action.CORRECT)  # the new hospital's case is opened and told
            assert after[0] == events + 1 and after[2] >= audits + 1
            assert after[1] == replies + (2 if redirected else 1)
            told = session.scalars(select(Reply.member).where(Reply.kind == "referral").order_by(Reply.id.desc())
                                   .limit(2 if redirected else 1)).all()
            other = parties[Party.SENDER if move.party == Party.RECEIVER else Party.RECEIVER]
            assert other in told and (not redirected or "HOSP02" in told)
            session.rollback()


def test_a_move_needs_its_arguments(store):
    store.deliver(referral("REF-1"))
    store.process()
    run_pass(store.sessions)
    with transaction(store.sessions) as session:
        case_id = session.scalar(select(ReferralCase.id))
        for action, arguments, field in ((Action.ACCEPT, {}, "appointment"), (Action.REJECT, {}, "reason"),
                                         (Action.REJECT, {"reason": "不想收"}, "reason"),
                                         (Action.REDIRECT, {"reason": "other", "to": "CLINIC02"}, "to"),
                                         (Action.REDIRECT, {"reason": "other", "to": "HOSP01"}, "to"),
                                         (Action.REDIRECT, {"reason": "other", "to": "NOBODY"}, "to")):
            with pytest.raises(WorkflowError) as refused:
                service.act(session, case_id=case_id, action=action, actor="HOSP01", now=utcnow(), **arguments)
            assert (refused.value.code, refused.value.fields["field"]) == ("workflow.referral.invalid", field)
        assert session.get(ReferralCase, case_id).state == "requested"
