"""The workflow service (SOAP, behind the security gate): a member's subscriptions to notifications.

``Subscribe``, ``Unsubscribe`` and ``ListSubscriptions`` act on the calling member's own subscriptions
only: the member is the one the gate verified, never an argument. Operations read their arguments
from the gate's ``VerifiedRequest`` (``verified.content``), as the other services do; spyne's
declarations give the WSDL. Notifications themselves arrive as replies (``FetchReplies``).
The two-way referral's operations (``AcceptReferral`` … ``ListReferrals``) move the caller's own cases
(``hub.workflows.referral.soap``).
"""
from __future__ import annotations

from spyne import ComplexModel, DateTime, Integer, ServiceBase, Unicode, rpc

from protocol.ns import WORKFLOW
from protocol.timestamps import format_utc, utcnow

from ..exchange.gate import Service
from ..exchange.operation import operation_context, text_argument
from ..store.db import transaction
from . import subscriptions
from .errors import WorkflowError
from .referral import soap as referral_soap

NAMESPACE = WORKFLOW
OPERATIONS = frozenset({"Subscribe", "Unsubscribe", "ListSubscriptions"}) | referral_soap.OPERATIONS
SERVICE = Service(NAMESPACE, OPERATIONS)


ReferralInfo = referral_soap.ReferralInfo


class SubscriptionInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("Topic", Unicode(min_occurs=1)), ("Filter", Unicode), ("CreatedAt", Unicode)]


_ctx = operation_context


def _arg(verified, name: str) -> str | None:
    return text_argument(verified, NAMESPACE, name)


def _info(row) -> SubscriptionInfo:
    return SubscriptionInfo(Topic=row.topic, Filter=row.filter or None, CreatedAt=format_utc(row.created_at))


class WorkflowService(ServiceBase):
    """工作流订阅服务 (subscriptions to referral updates, disease alerts of a district, recalls)."""

    @rpc(Unicode(min_occurs=1), Unicode, _returns=SubscriptionInfo, _out_variable_name="Subscription")
    def Subscribe(ctx, Topic, Filter):
        hub, verified, client = _ctx(ctx)
        topic = _arg(verified, "Topic") or ""
        try:
            with transaction(hub.sessions) as session:
                row = subscriptions.subscribe(session, member=verified.member, topic=topic,
                                              filter=_arg(verified, "Filter"), actor=verified.member, now=utcnow(),
                                              client_address=client)
                return _info(row)
        except WorkflowError as refused:
            if refused.code == "workflow.subscription.scope":  # another district's alerts: audited
                subscriptions.audit_refusal(hub.sessions, code=refused.code, actor=verified.member,
                                            member=verified.member, topic=topic, client_address=client)
            raise

    @rpc(Unicode(min_occurs=1), Unicode, _returns=Integer, _out_variable_name="Removed")
    def Unsubscribe(ctx, Topic, Filter):
        hub, verified, client = _ctx(ctx)
        with transaction(hub.sessions) as session:
            return subscriptions.unsubscribe(session, member=verified.member, topic=_arg(verified, "Topic") or "",
                                             filter=_arg(verified, "Filter"), actor=verified.member,
                                             client_address=client)

    @rpc(_returns=SubscriptionInfo.customize(max_occurs="unbounded"), _out_variable_name="Subscription")
    def ListSubscriptions(ctx):
        hub, verified, _client = _ctx(ctx)
        with hub.sessions() as session:
            return [_info(row) for row in subscriptions.list_for(session, member=verified.member)]

    # two-way referral (hub/workflows/referral/soap.py): the parties move their own cases
    @rpc(Integer(min_occurs=1), DateTime(min_occurs=1), Unicode, _returns=ReferralInfo, _out_variable_name="Case")
    def AcceptReferral(ctx, Referral, Appointment, Note):
        return referral_soap.move(ctx, "AcceptReferral")

    @rpc(Integer(min_occurs=1), Unicode(min_occurs=1), Unicode, _returns=ReferralInfo, _out_variable_name="Case")
    def RejectReferral(ctx, Referral, Reason, Note):
        return referral_soap.move(ctx, "RejectReferral")

    @rpc(Integer(min_occurs=1), Unicode(min_occurs=1), Unicode(min_occurs=1), Unicode, _returns=ReferralInfo,
         _out_variable_name="Case")
    def RedirectReferral(ctx, Referral, To, Reason, Note):
        return referral_soap.move(ctx, "RedirectReferral")

    @rpc(Integer(min_occurs=1), Unicode, _returns=ReferralInfo, _out_variable_name="Case")
    def CancelReferral(ctx, Referral, Note):
        return referral_soap.move(ctx, "CancelReferral")

    @rpc(Integer(min_occurs=1), Unicode, _returns=ReferralInfo, _out_variable_name="Case")
    def ConfirmArrival(ctx, Referral, Note):
        return referral_soap.move(ctx, "ConfirmArrival")

    @rpc(Integer(min_occurs=1), Unicode, _returns=ReferralInfo, _out_variable_name="Case")
    def CloseReferral(ctx, Referral, Note):
        return referral_soap.move(ctx, "CloseReferral")

    @rpc(Integer(min_occurs=1), Unicode, _returns=ReferralInfo, _out_variable_name="Case")
    def ConfirmFollowUp(ctx, Referral, Note):
        return referral_soap.move(ctx, "ConfirmFollowUp")

    @rpc(Unicode, _returns=ReferralInfo.customize(max_occurs="unbounded"), _out_variable_name="Case")
    def ListReferrals(ctx, State):
        return referral_soap.list_cases(ctx)


__all__ = ["WorkflowService", "NAMESPACE", "OPERATIONS", "SERVICE", "SubscriptionInfo", "ReferralInfo"]
