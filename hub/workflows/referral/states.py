"""The referral case's state table: every legal (state, action) → (next state, whose turn it is).

One table, the only place moves are decided. Any (state, action) pair not in it is refused with
``workflow.referral.transition``; a move by the other party of the case is refused with
``workflow.referral.turn``. ``docs/workflows.md`` ("Two-way referral") shows the same table.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import WorkflowError
from .models import ReferralState


class Party(str, enum.Enum):
    """Who moves a case: the clinic that referred up, or the hospital it referred to."""

    SENDER = "sender"
    RECEIVER = "receiver"


class Action(str, enum.Enum):
    ACCEPT = "accept"        # receiver, with an appointment time
    REJECT = "reject"        # receiver, with a reason code
    REDIRECT = "redirect"    # receiver, to another hospital (a new case there)
    CANCEL = "cancel"        # sender: the up-referral withdrawn (a Cancellation, or CancelReferral)
    ARRIVE = "arrive"        # receiver: the patient came
    DISCHARGE = "discharge"  # receiver: its down-referral document at discharge
    CLOSE = "close"          # receiver: ended without a down-referral (no-show, treated and done)
    FOLLOW_UP = "follow_up"  # sender: follow-up confirmed
    CORRECT = "correct"      # sender: a new version of its up-referral names another hospital (a new case there)


@dataclass(frozen=True)
class Move:
    to: ReferralState
    party: Party


S, A = ReferralState, Action
TRANSITIONS: dict[tuple[ReferralState, Action], Move] = {
    (S.REQUESTED, A.ACCEPT): Move(S.ACCEPTED, Party.RECEIVER),
    (S.REQUESTED, A.REJECT): Move(S.REJECTED, Party.RECEIVER),
    (S.REQUESTED, A.REDIRECT): Move(S.REDIRECTED, Party.RECEIVER),
    (S.REQUESTED, A.CANCEL): Move(S.CANCELLED, Party.SENDER),
    (S.REQUESTED, A.CORRECT): Move(S.REDIRECTED, Party.SENDER),  # the first hospital is told it is withdrawn
    (S.ACCEPTED, A.CANCEL): Move(S.CANCELLED, Party.SENDER),
    (S.ACCEPTED, A.ARRIVE): Move(S.ARRIVED, Party.RECEIVER),
    (S.ACCEPTED, A.DISCHARGE): Move(S.DISCHARGED, Party.RECEIVER),  # arrival need not be reported
    (S.ACCEPTED, A.CLOSE): Move(S.CLOSED, Party.RECEIVER),
    (S.ARRIVED, A.DISCHARGE): Move(S.DISCHARGED, Party.RECEIVER),
    (S.ARRIVED, A.CLOSE): Move(S.CLOSED, Party.RECEIVER),
    (S.DISCHARGED, A.FOLLOW_UP): Move(S.FOLLOWED_UP, Party.SENDER),
    # the up-referral withdrawn after the patient came: the stay goes on, the withdrawal is in the history
    (S.ARRIVED, A.CANCEL): Move(S.ARRIVED, Party.SENDER),
    (S.DISCHARGED, A.CANCEL): Move(S.DISCHARGED, Party.SENDER),
}
del S, A
# what only a document does, never a call: the down-referral discharges, a new version corrects
DOCUMENT_ACTIONS = frozenset({Action.DISCHARGE, Action.CORRECT})
# the sender's withdrawals, possible whoever's turn it is
WITHDRAWALS = frozenset({Action.CANCEL, Action.CORRECT})

FINAL = frozenset(state for state in ReferralState if not any(key[0] == state for key in TRANSITIONS))
# the decision of a receiver: every state reached through an acceptance counts as accepted
ACCEPTED_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.ARRIVED, ReferralState.DISCHARGED,
                             ReferralState.FOLLOWED_UP, ReferralState.CLOSED})
DECIDED_STATES = ACCEPTED_STATES | {ReferralState.REJECTED, ReferralState.REDIRECTED}


def check_move(state: ReferralState | str, action: Action | str, party: Party | None = None) -> Move:
    """The move ``action`` makes from ``state``; refused if the table has none or it is the other party's."""
    current, wanted = ReferralState(state), Action(action)
    move = TRANSITIONS.get((current, wanted))
    if move is None:
        raise WorkflowError("workflow.referral.transition", f"{current.value}: no {wanted.value}",
                            state=current.value, action=wanted.value)
    if party is not None and move.party != party:
        raise WorkflowError("workflow.referral.turn", f"{wanted.value} is the {move.party.value}'s to do",
                            state=current.value, action=wanted.value)
    return move


def turn_of(state: ReferralState | str) -> Party | None:
    """Whose turn it is in ``state`` (the party of its moves other than the sender's withdrawals); None for a
    final state."""
    parties = {move.party for (current, action), move in TRANSITIONS.items()
               if current == ReferralState(state) and action not in WITHDRAWALS}
    return parties.pop() if len(parties) == 1 else None


__all__ = ["Party", "Action", "Move", "TRANSITIONS", "DOCUMENT_ACTIONS", "WITHDRAWALS", "FINAL", "ACCEPTED_STATES",
           "DECIDED_STATES", "check_move", "turn_of"]
