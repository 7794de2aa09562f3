"""The client library: seal, submit, verify receipts, fetch and decrypt replies, read records, move workflows."""
from .hub_client import HubClient, MessageState, ReplyMessage
from .records_client import RecordsClient
from .workflow_client import Referral, Subscription, WorkflowClient, WorkflowNotice, read_notification

__all__ = ["HubClient", "MessageState", "ReplyMessage", "RecordsClient", "WorkflowClient", "Subscription",
           "Referral", "WorkflowNotice", "read_notification"]
