"""A member as the tier's tests drive it: seal a request, post it to one URL (a node or the balancer),
resend it on failure with the same MessageID, and keep the receipts' bytes as the hub sent them.

The posting and the fault reading are the client library's (``HubClient.post``); the receipts are
kept as bytes, since the tier checks that a resend gets the very same bytes from any node.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from lxml import etree

from adapters.client import HubClient
from adapters.errors import HubFault, TransportError
from hub.exchange.gate import action_for
from protocol.credentials import Credentials
from protocol.ns import HIS, q
from protocol.receipts import read_receipt
from protocol.request import seal_request
from tests.exchange import builders


def _copied(document: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(document))  # appended, the caller's document would move


def submit_document(document: etree._Element) -> etree._Element:
    """A SubmitDocument body around a copy of ``document``."""
    return builders.submit_document(_copied(document))


def submit_batch(items: list[tuple[str, etree._Element]]) -> etree._Element:
    """A SubmitBatch body: one Item per (MessageID, a copy of the document)."""
    return builders.submit_batch([(message_id, _copied(document)) for message_id, document in items])


@dataclass
class Member:
    """One member's credentials and a client per hub URL (the hub's encryption and CA certificates)."""

    credentials: Credentials
    hub_cert: object
    ca_cert: object
    clients: dict[str, HubClient] = field(default_factory=dict)
    resends: int = 0  # requests sent again after a failure

    @property
    def code(self) -> str:
        return self.credentials.member

    def client(self, url: str) -> HubClient:
        """The client library on ``url`` (a node's or the balancer's base URL)."""
        if url not in self.clients:
            self.clients[url] = HubClient(f"{url}/soap/exchange", credentials=self.credentials, hub_cert=self.hub_cert,
                                          ca_cert=self.ca_cert, timeout=15)
        return self.clients[url]

    def seal(self, operation: str, content: etree._Element, *, message_id: str | None = None) -> bytes:
        """A signed and encrypted request (a fresh timestamp each time; the same MessageID if given)."""
        return seal_request(content, credentials=self.credentials, hub_cert=self.hub_cert,
                            action=action_for(operation), to="http://127.0.0.1/soap/exchange",
                            message_id=message_id).data

    def post(self, url: str, data: bytes) -> etree._Element:
        """The answer's Body content (``HubFault`` for a Fault, ``TransportError`` when nothing came back)."""
        return self.client(url).post(data)

    def submit(self, url: str, operation: str, content: etree._Element, *, message_id: str | None = None,
               patience_s: float = 60.0) -> list[bytes]:
        """Send until answered, resending after a transport failure or a retryable fault, each time re-sealed
        with the same MessageID(s); returns each receipt's bytes, in order."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                return receipts(self.post(url, self.seal(operation, content, message_id=message_id)))
            except (TransportError, HubFault) as failure:
                if not failure.retryable or time.monotonic() > deadline:
                    raise
            self.resends += 1
            time.sleep(0.1)


def receipts(body: etree._Element) -> list[bytes]:
    """The bytes of each ``his:Receipt`` in an answer, in order."""
    return [etree.tostring(element) for element in body.iter(q(HIS, "Receipt"))]


def read(receipt: bytes, ca_cert):
    """The fields of a receipt whose signature verifies with a certificate the hub CA issued."""
    return read_receipt(etree.fromstring(receipt), check_signer=lambda cert: cert.verify_directly_issued_by(ca_cert))


__all__ = ["Member", "submit_document", "submit_batch", "receipts", "read"]
