"""The client library: seal, submit, verify receipts, fetch and decrypt replies."""
from .hub_client import HubClient, MessageState, ReplyMessage

__all__ = ["HubClient", "MessageState", "ReplyMessage"]
