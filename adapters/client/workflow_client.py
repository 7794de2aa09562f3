"""Client of the hub's workflow service (…/soap/workflow): subscriptions and the two-way referral.

Same signing and encryption as the exchange (``HubClient``, zeep underneath): the member is the one
whose certificate signs, never an argument. Each operation answers a typed value (``Subscription``,
``Referral``); a refusal raises ``adapters.errors.HubFault`` with the hub's code and fixed message
(``workflow.referral.turn``, ``workflow.referral.transition``, ``workflow.subscription.invalid`` …),
as every call of the client library does. What the hub tells a member later (a referral accepted, an
alert) arrives as a reply: ``fetch_replies``, then ``read_notification`` on its content.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from protocol.ns import WORKFLOW, q
from protocol.timestamps import parse_utc
from protocol.xmlparse import parse_untrusted

from ..errors import ResponseError
from .hub_client import HubClient

WORKFLOW_PATH = "/soap/workflow"


@dataclass(frozen=True)
class Subscription:
    """One of the member's subscriptions: a topic (``alert.disease``, ``referral``, ``recall``) and its filter."""

    topic: str
    filter: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class Referral:
    """A referral case as its parties see it: ``sender`` is the clinic that referred up, ``receiver`` the hospital."""

    id: int
    sender: str
    receiver: str
    state: str
    document: str | None = None
    department: str | None = None
    reason: str | None = None  # of a rejection or a redirect (a code of the hub's list)
    appointment: datetime | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    due_at: datetime | None = None  # when the current step is overdue (None: never)


@dataclass(frozen=True)
class WorkflowNotice:
    """A ``wf:Notification`` the hub sent as a reply (kind ``alert``, ``referral`` or ``recall``)."""

    kind: str  # e.g. referral.accepted, disease.class_a
    state: str
    subjects: dict[str, str]  # subject type → id, e.g. {"referral": "12"}
    facts: dict[str, str]
    time: datetime | None
    element: etree._Element  # the whole notification, for what the fields above leave out

    @property
    def referral(self) -> int | None:
        """The referral case this notice is about (None: not a referral notice)."""
        found = self.subjects.get("referral")
        return int(found) if found and found.isdigit() else None


def _text(element: etree._Element, name: str) -> str | None:
    found = element.findtext(q(WORKFLOW, name))
    return found if found else None


def _time(element: etree._Element, name: str) -> datetime | None:
    return parse_utc(_text(element, name))


def _subscription(element: etree._Element) -> Subscription:
    return Subscription(topic=_text(element, "Topic") or "", filter=_text(element, "Filter"),
                        created_at=_time(element, "CreatedAt"))


def _referral(element: etree._Element) -> Referral:
    identifier = _text(element, "Id") or ""
    if not identifier.isdigit():
        raise ResponseError("workflow answer without a referral id")
    return Referral(id=int(identifier), sender=_text(element, "From") or "", receiver=_text(element, "To") or "",
                    state=_text(element, "State") or "", document=_text(element, "Document"),
                    department=_text(element, "Department"), reason=_text(element, "Reason"),
                    appointment=_time(element, "Appointment"), requested_at=_time(element, "RequestedAt"),
                    decided_at=_time(element, "DecidedAt"), due_at=_time(element, "DueAt"))


def read_notification(content: bytes | etree._Element) -> WorkflowNotice:
    """The notification of a reply's decrypted content (``ReplyMessage.content``)."""
    root = parse_untrusted(content) if isinstance(content, bytes) else content
    if root.tag != q(WORKFLOW, "Notification"):
        raise ResponseError("reply content is not a workflow notification")
    return WorkflowNotice(kind=_text(root, "Kind") or "", state=_text(root, "State") or "",
                          subjects={s.get("type", ""): s.get("id", "") for s in root.findall(q(WORKFLOW, "Subject"))},
                          facts={f.get("code", ""): f.get("value", "") for f in root.findall(q(WORKFLOW, "Fact"))},
                          time=_time(root, "Time"), element=root)


def _present(**arguments) -> dict:
    return {name: value for name, value in arguments.items() if value is not None}


class WorkflowClient(HubClient):
    """The workflow service as one member organization calls it (URL: …/soap/workflow)."""

    namespace = WORKFLOW

    # ------------------------------------------------------------ subscriptions

    def subscribe(self, topic: str, filter: str | None = None) -> Subscription:
        """Subscribe to ``topic`` (``alert.disease`` takes a district's division code as its filter)."""
        answer = self._call("Subscribe", **_present(Topic=topic, Filter=filter))
        return self._one(answer, "Subscription", _subscription)

    def unsubscribe(self, topic: str, filter: str | None = None) -> int:
        """Remove the subscription to ``topic`` (and ``filter``); how many were removed."""
        text = self._call("Unsubscribe", **_present(Topic=topic, Filter=filter)).findtext(f".//{q(WORKFLOW, 'Removed')}")
        return int(text) if text and text.isdigit() else 0

    def list_subscriptions(self) -> list[Subscription]:
        """The member's own subscriptions."""
        return [_subscription(s) for s in self._call("ListSubscriptions").iter(q(WORKFLOW, "Subscription"))]

    # ------------------------------------------------------------ two-way referral (the caller's own cases)

    def accept_referral(self, referral: int, *, appointment: datetime, note: str | None = None) -> Referral:
        """The receiving hospital accepts, with the patient's appointment time."""
        return self._move("AcceptReferral", referral, Appointment=appointment, Note=note)

    def reject_referral(self, referral: int, *, reason: str, note: str | None = None) -> Referral:
        """The receiving hospital declines, with a reason code (``no_capacity``, ``out_of_scope`` …)."""
        return self._move("RejectReferral", referral, Reason=reason, Note=note)

    def redirect_referral(self, referral: int, *, to: str, reason: str, note: str | None = None) -> Referral:
        """The receiving hospital sends the case on to hospital ``to``: this case ends, a new one opens there."""
        return self._move("RedirectReferral", referral, To=to, Reason=reason, Note=note)

    def cancel_referral(self, referral: int, *, note: str | None = None) -> Referral:
        """The referring clinic withdraws the case (before the patient arrived)."""
        return self._move("CancelReferral", referral, Note=note)

    def confirm_arrival(self, referral: int, *, note: str | None = None) -> Referral:
        """The receiving hospital: the patient came."""
        return self._move("ConfirmArrival", referral, Note=note)

    def close_referral(self, referral: int, *, note: str | None = None) -> Referral:
        """The receiving hospital ends an accepted case without a down-referral (no-show, treated and done)."""
        return self._move("CloseReferral", referral, Note=note)

    def confirm_follow_up(self, referral: int, *, note: str | None = None) -> Referral:
        """The referring clinic confirms the follow-up after discharge: the round trip is complete."""
        return self._move("ConfirmFollowUp", referral, Note=note)

    def list_referrals(self, state: str | None = None) -> list[Referral]:
        """The member's cases (sent or received), optionally in one state."""
        return [_referral(c) for c in self._call("ListReferrals", **_present(State=state)).iter(q(WORKFLOW, "Case"))]

    # ------------------------------------------------------------ plumbing

    def _move(self, operation: str, referral: int, **arguments) -> Referral:
        return self._one(self._call(operation, Referral=referral, **_present(**arguments)), "Case", _referral)

    @staticmethod
    def _one(answer: etree._Element, name: str, read):
        found = next(answer.iter(q(WORKFLOW, name)), None)
        if found is None:
            raise ResponseError(f"workflow answer without {name}")
        return read(found)


__all__ = ["WorkflowClient", "Subscription", "Referral", "WorkflowNotice", "read_notification", "WORKFLOW_PATH"]
