"""The lifecycle words both sides read: a receipt's status and a message's status.

A receipt says whether the hub stored a document (``ReceiptStatus``); ``GetStatus`` and the
acknowledgement replies say how far the stored message got (``MessageStatus``). The values are
what travels in ``his:Status`` / ``hie:Status`` and what the inbox stores.
"""
from __future__ import annotations

import enum


class ReceiptStatus(str, enum.Enum):
    """What the hub did with a submitted document when it answered."""

    ACCEPTED = "accepted"  # stored durably (a resend gets the original, accepted, receipt)
    REJECTED = "rejected"  # refused; the receipt's Code says why; nothing stored


class MessageStatus(str, enum.Enum):
    """Lifecycle of a stored message: accepted → processed | rejected."""

    ACCEPTED = "accepted"    # verified, decrypted, durable; receipt issued; awaiting processing
    PROCESSED = "processed"  # processing finished (normalised into the store)
    REJECTED = "rejected"    # processing refused it; error_code says why

    @classmethod
    def pending(cls) -> tuple["MessageStatus", ...]:
        """The statuses the processor still has to move on."""
        return (cls.ACCEPTED,)


__all__ = ["ReceiptStatus", "MessageStatus"]
