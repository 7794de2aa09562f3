"""Two-way referral (双向转诊, issue 21): a case per up-referral, moved by one state table.

``models`` (the case and its history), ``states`` (the table: (state, action) → next state and whose
turn), ``service`` (the moves), ``handler`` (what the Referral documents do), ``notices`` (what each
party is told), ``overdue`` (deadlines per step and their alert), ``views`` (the case as the APIs
show it). ``docs/workflows.md`` ("Two-way referral") describes them.
"""
from .models import ReferralCase, ReferralEvent, ReferralState
from .states import FINAL, TRANSITIONS, Action, Party, check_move

__all__ = ["ReferralCase", "ReferralEvent", "ReferralState", "FINAL", "TRANSITIONS", "Action", "Party", "check_move"]
