"""The workflow service (SOAP, behind the security gate): a member's subscriptions to notifications.

``Subscribe``, ``Unsubscribe`` and ``ListSubscriptions`` act on the calling member's own subscriptions
only: the member is the one the gate verified, never an argument. Operations read their arguments
from the gate's ``VerifiedRequest`` (``verified.content``), as the other services do; spyne's
declarations give the WSDL. Notifications themselves arrive as replies (``FetchReplies``).
"""
from __future__ import annotations

from spyne import ComplexModel, Integer, ServiceBase, Unicode, rpc

from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc, utcnow

from ..exchange.gate import Service
from ..store.db import transaction
from . import subscriptions

NAMESPACE = WORKFLOW
OPERATIONS = frozenset({"Subscribe", "Unsubscribe", "ListSubscriptions"})
SERVICE = Service(NAMESPACE, OPERATIONS)


class SubscriptionInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("Topic", Unicode(min_occurs=1)), ("Filter", Unicode), ("CreatedAt", Unicode)]


def _ctx(ctx):
    env = ctx.transport.req_env
    return env["hie.hub"], env["hie.verified"], env.get("REMOTE_ADDR")


def _arg(verified, name: str) -> str | None:
    text = verified.content.findtext(q(NAMESPACE, name))
    return text.strip() if text and text.strip() else None


def _info(row) -> SubscriptionInfo:
    return SubscriptionInfo(Topic=row.topic, Filter=row.filter or None, CreatedAt=format_utc(row.created_at))


class WorkflowService(ServiceBase):
    """工作流订阅服务 (subscriptions to referral updates, disease alerts of a district, recalls)."""

    @rpc(Unicode(min_occurs=1), Unicode, _returns=SubscriptionInfo, _out_variable_name="Subscription")
    def Subscribe(ctx, Topic, Filter):
        hub, verified, client = _ctx(ctx)
        with transaction(hub.sessions) as session:
            row = subscriptions.subscribe(session, member=verified.member, topic=_arg(verified, "Topic") or "",
                                          filter=_arg(verified, "Filter"), actor=verified.member, now=utcnow(),
                                          client_address=client)
            return _info(row)

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


__all__ = ["WorkflowService", "NAMESPACE", "OPERATIONS", "SERVICE", "SubscriptionInfo"]
