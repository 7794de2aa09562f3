"""The adapters' error root: client faults and transport failures carry machine codes."""
from __future__ import annotations


class AdapterError(Exception):
    """Root of errors raised by adapters and the client library."""

    code = "adapter.error"


class TransportError(AdapterError):
    """The hub could not be reached or answered garbage: retry later."""

    code = "transport.unavailable"
    retryable = True


class HubFault(AdapterError):
    """The hub refused a request with a SOAP Fault carrying a machine code."""

    def __init__(self, code: str, message: str, *, retryable: bool, receipt=None, http_status: int = 500):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.receipt = receipt  # ReceiptInfo of the signed rejection receipt, when the hub sent one
        self.http_status = http_status


class ResponseError(AdapterError):
    """The hub's answer failed verification (bad signature, unexpected shape)."""

    code = "client.response.invalid"
    retryable = True


__all__ = ["AdapterError", "TransportError", "HubFault", "ResponseError"]
