"""The client library: seal, submit, verify receipts, fetch and decrypt replies, read records."""
from .hub_client import HubClient, MessageState, ReplyMessage
from .records_client import RecordsClient

__all__ = ["HubClient", "MessageState", "ReplyMessage", "RecordsClient"]
