"""Limits both sides of the exchange agree on: the hub enforces them, clients stay within them."""
from __future__ import annotations

MAX_BATCH_DOCUMENTS = 200  # documents in one SubmitBatch; more is refused as exchange.batch.too_large

__all__ = ["MAX_BATCH_DOCUMENTS"]
