"""The referral workflow's tables: one case per up-referral (``workflow_referral``) and its history."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ...store.models import Base, UTCDateTime


class ReferralState(str, enum.Enum):
    """A referral case's lifecycle; the moves are ``hub.workflows.referral.states.TRANSITIONS``."""

    REQUESTED = "requested"      # the clinic referred up: the hospital's turn
    ACCEPTED = "accepted"        # the hospital gave an appointment
    REJECTED = "rejected"        # the hospital declined, with a reason code (final)
    REDIRECTED = "redirected"    # sent on to another hospital (by this one, or by the clinic's corrected
    #                              up-referral while still requested): a new case there (final for this one)
    ARRIVED = "arrived"          # the patient came
    DISCHARGED = "discharged"    # the down-referral came back: the clinic's turn to follow up
    FOLLOWED_UP = "followed_up"  # the clinic confirmed follow-up: a completed round trip (final)
    CLOSED = "closed"            # ended after acceptance without a completed round trip (final)
    CANCELLED = "cancelled"      # the clinic withdrew it before the patient arrived (final)


class ReferralCase(Base):
    """One up-referral as it moves between a clinic (the sender) and a hospital (the receiver).

    A redirect ends this case and opens one at the new hospital (``previous_id`` names this one); of the
    cases of one referral document, exactly one is not ``redirected`` (a partial unique index)."""

    __tablename__ = "workflow_referral"
    __table_args__ = (Index("ux_workflow_referral_live", "document_row_id", unique=True,
                            sqlite_where=text("state <> 'redirected'"), postgresql_where=text("state <> 'redirected'")),
                      Index("ix_workflow_referral_due", "state", "due_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_row_id: Mapped[int] = mapped_column(ForeignKey("record_document.id", ondelete="CASCADE"), index=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_referral.id"), nullable=True)
    from_institution: Mapped[str] = mapped_column(String(64), index=True)  # the sender (clinic)
    to_institution: Mapped[str] = mapped_column(String(64), index=True)    # the receiver (hospital)
    department_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)  # of a rejection or a redirect
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this receiver was asked
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    down_document_row_id: Mapped[int | None] = mapped_column(ForeignKey("record_document.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # the current step's deadline
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ReferralEvent(Base):
    """One move of a case: who, which action, from and to which state, when, an optional code and note."""

    __tablename__ = "workflow_referral_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_referral.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


__all__ = ["ReferralState", "ReferralCase", "ReferralEvent"]
