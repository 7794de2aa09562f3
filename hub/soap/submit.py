"""SubmitDocument and SubmitBatch, answered straight from the gate's verified message.

spyne describes both operations in the WSDL but does not dispatch them: by the time a submission
reaches this module the gate has parsed, verified and decrypted it, and its answer is nothing but
the receipts the inbox signed. Skipping spyne's second parse and its serializer is what lets the
ASGI front serve a submission on its event loop (``hub.soap.asgi``); the WSGI gate middleware uses
the same functions, so both fronts answer alike. A test checks the answer bytes against spyne's.
"""
from __future__ import annotations

from lxml import etree

from protocol.ns import HIE, q

from ..errors import ExchangeError
from ..exchange import inbox
from ..exchange.gate import VerifiedRequest
from ..exchange.inbox import SubmittedMessage, Intake, ItemOutcome, Submission
from .faults import ENVELOPE_HEAD, ENVELOPE_TAIL, fault_envelope

_DOCUMENT, _ITEM, _MESSAGE_ID = q(HIE, "Document"), q(HIE, "Item"), q(HIE, "MessageId")
_RESPONSE = {operation: (ENVELOPE_HEAD + f"<tns:{operation}Response>".encode(),
                         f"</tns:{operation}Response>".encode() + ENVELOPE_TAIL)
             for operation in ("SubmitDocument", "SubmitBatch")}


def _document(holder: etree._Element) -> etree._Element:
    documents = holder.findall(_DOCUMENT)
    if len(documents) != 1:
        raise ExchangeError("exchange.document.invalid", "expected one Document")
    children = [child for child in documents[0] if isinstance(child.tag, str)]
    if len(children) != 1 or (documents[0].text or "").strip():
        raise ExchangeError("exchange.document.invalid", "Document must hold exactly one element")
    return children[0]


def items_of(verified: VerifiedRequest, *, max_batch: int) -> list[SubmittedMessage]:
    """The documents of a verified submission, each with its MessageId; ``ExchangeError`` if malformed."""
    if verified.operation == "SubmitDocument":
        return [SubmittedMessage(verified.request.message_id, _document(verified.content))]
    items = verified.content.findall(_ITEM)
    if not items:
        raise ExchangeError("exchange.batch.invalid", "empty batch")
    if len(items) > max_batch:
        raise ExchangeError("exchange.batch.too_large", "too many items")
    result = []
    for item in items:
        message_id = (item.findtext(_MESSAGE_ID) or "").strip()
        if not message_id or len(message_id) > 200:
            raise ExchangeError("exchange.batch.invalid", "item without a usable MessageId")
        result.append(SubmittedMessage(message_id, _document(item)))
    if len({item.message_id for item in result}) != len(result):
        raise ExchangeError("exchange.batch.invalid", "MessageId repeated within the batch")
    return result


def prepare(hub, verified: VerifiedRequest, *, client_address: str | None) -> Submission:
    """The submission's documents, checked, with their receipts signed: ready for the group commit."""
    items = items_of(verified, max_batch=hub.settings.max_batch_documents)
    return inbox.prepare(verified=verified, items=items, signer=hub.signer, client_address=client_address)


def answer(hub, submission: Submission) -> tuple[int, bytes]:
    """HTTP status and SOAP answer of a settled submission; raises its ``HubError`` if the commit failed."""
    return render(submission.verified.operation, inbox.outcomes(submission, hub.signer))


def render(operation: str, outcomes: list[ItemOutcome]) -> tuple[int, bytes]:
    """The answer spyne would write: the receipts in ``<tns:Result>``s, or a Fault for a refused document."""
    if operation == "SubmitDocument" and outcomes[0].status is Intake.REJECTED:
        return 500, fault_envelope(outcomes[0].code, outcomes[0].receipt)
    head, tail = _RESPONSE[operation]
    return 200, b"".join((head, *(b"<tns:Result>" + outcome.receipt + b"</tns:Result>" for outcome in outcomes), tail))


__all__ = ["items_of", "prepare", "answer", "render"]
