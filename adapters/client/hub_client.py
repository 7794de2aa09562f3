"""Client of the hub's exchange service: the only module that talks to the hub (zeep).

zeep reads the hub's WSDL and builds each operation's Body; this module seals it with the
profile (encrypt for the hub, then sign), posts it through zeep's transport, and verifies the
hub-signed receipts and replies in the answer with the one hardened parser.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Error as ZeepError
from zeep.transports import Transport

from certs import CertificateRejected, TrustStore
from certs.names import member_of
from protocol.credentials import Credentials, load_certificate
from protocol.errors import FAULTS, HubError
from protocol.ns import HIE, HIS, SOAP11, KeyTransport, q
from protocol.receipts import ReceiptInfo, read_receipt
from protocol.request import seal_request
from protocol.sealed import open_sealed
from protocol.timestamps import utcnow
from protocol.xmlparse import parse_untrusted

from ..errors import HubFault, ResponseError, TransportError


@dataclass(frozen=True)
class ReplyMessage:
    """A verified, decrypted reply from the hub."""

    reply_id: str
    kind: str
    in_reply_to: str
    content: bytes


@dataclass(frozen=True)
class MessageState:
    message_id: str
    status: str
    code: str
    receipt: ReceiptInfo | None


class HubClient:
    """Submit documents to the hub and fetch replies, as one member organization."""

    namespace = HIE  # the service's namespace: wsa:Action = namespace + ":" + operation

    def __init__(self, hub_url: str, *, credentials: Credentials, hub_cert, ca_cert, crl=None,
                 timeout: float = 30.0, verify_tls: bool | str = True, client_cert: tuple[str, str] | None = None,
                 key_transport: KeyTransport = KeyTransport.RSA_OAEP_MGF1P):
        self.url = hub_url.rstrip("/")
        self.credentials = credentials
        self.hub_cert = hub_cert if not isinstance(hub_cert, (str, Path)) else load_certificate(hub_cert)
        self.trust = TrustStore.from_files(ca_cert=ca_cert, crl=crl) if crl else _CaOnly(ca_cert)
        self.key_transport = key_transport
        session = _PinnedSession()
        session.verify = verify_tls
        if client_cert:
            session.cert = client_cert
        self._transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
        self._zeep: Client | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ operations

    def submit(self, document: etree._Element, *, message_id: str | None = None) -> ReceiptInfo:
        """Submit one document; returns the hub's verified receipt (raises ``HubFault`` if refused)."""
        response = self._call("SubmitDocument", message_id=message_id, documents=[document], Document="")
        return self._receipts(response)[0]

    def submit_batch(self, items: list[tuple[str, etree._Element]]) -> list[ReceiptInfo]:
        """Submit several documents, each with its own MessageID; one receipt per item, in order."""
        response = self._call("SubmitBatch", documents=[doc for _, doc in items],
                              Item=[{"MessageId": mid, "Document": ""} for mid, _ in items])
        receipts = self._receipts(response)
        if [r.message_id for r in receipts] != [mid for mid, _ in items]:
            raise ResponseError("receipts do not match the batch items")
        return receipts

    def status(self, message_id: str) -> MessageState:
        response = self._call("GetStatus", MessageId=message_id)
        status = response.find(f".//{q(HIE, 'Status')}")
        if status is None:
            raise ResponseError("GetStatus answer without Status")
        holder = status.find(q(HIE, "SignedReceipt"))
        receipt = holder.find(q(HIS, "Receipt")) if holder is not None else None
        return MessageState(message_id=status.findtext(q(HIE, "MessageId"), ""),
                            status=status.findtext(q(HIE, "Status"), ""), code=status.findtext(q(HIE, "Code"), ""),
                            receipt=self._read_receipt(receipt) if receipt is not None else None)

    def fetch_replies(self, limit: int = 100) -> list[ReplyMessage]:
        """Fetch replies queued for this organization; each is verified and decrypted."""
        response = self._call("FetchReplies", Max=limit)
        result = []
        for wrapper in response.iter(q(HIS, "Reply")):
            content = open_sealed(wrapper, recipient=self.credentials, check_signer=self._check_hub_signer)
            result.append(ReplyMessage(reply_id=wrapper.findtext(q(HIS, "ReplyId"), ""),
                                       kind=wrapper.findtext(q(HIS, "Kind"), ""),
                                       in_reply_to=wrapper.findtext(q(HIS, "InReplyTo"), ""), content=content))
        return result

    def ack_replies(self, reply_ids: list[str]) -> int:
        response = self._call("AckReplies", ReplyId=list(reply_ids))
        text = response.findtext(f".//{q(HIE, 'Acknowledged')}")
        return int(text) if text and text.isdigit() else 0

    # ------------------------------------------------------------ plumbing

    @property
    def zeep(self) -> Client:
        with self._lock:
            if self._zeep is None:
                try:
                    client = Client(self.url + "?wsdl", transport=self._transport,
                                    settings=Settings(strict=True, xml_huge_tree=False))
                    client.service  # noqa: B018 - a WSDL without the service is not the hub's
                except (requests.RequestException, OSError) as exc:
                    raise TransportError(f"cannot load the hub WSDL: {type(exc).__name__}") from exc
                except (ZeepError, etree.LxmlError, ValueError) as exc:  # a proxy's or portal's page
                    raise TransportError(f"the hub WSDL is not readable: {type(exc).__name__}") from None
                self._zeep = client
            return self._zeep

    def _call(self, operation: str, *, message_id: str | None = None, documents=(), **arguments) -> etree._Element:
        client = self.zeep
        envelope = client.create_message(client.service, operation, **arguments)
        content = envelope.find(q(SOAP11, "Body"))[0]
        # The WSDL types Document as xs:anyType, which zeep renders as text: put the
        # documents (copies, so callers keep theirs) into the placeholders zeep made.
        holders = list(content.iter(q(HIE, "Document")))
        if len(holders) != len(documents):
            raise ResponseError("WSDL and documents disagree")
        for holder, document in zip(holders, documents):
            holder.text = None
            holder.append(_copy(document))
        sealed = seal_request(content, credentials=self.credentials, hub_cert=self.hub_cert,
                              action=f"{self.namespace}:{operation}", to=self.url, message_id=message_id,
                              key_transport=self.key_transport)
        return self.post(sealed.data)

    def post(self, data: bytes) -> etree._Element:
        """POST sealed bytes; return the verified Body of a success or raise ``HubFault``."""
        try:
            response = self._transport.session.post(
                self.url, data=data, timeout=self._transport.operation_timeout,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        except (requests.RequestException, OSError) as exc:
            raise TransportError(f"hub unreachable: {type(exc).__name__}") from None
        try:
            root = parse_untrusted(response.content)
        except HubError:
            raise TransportError(f"hub answered HTTP {response.status_code} without SOAP") from None
        if root.tag != q(SOAP11, "Envelope"):  # a balancer's or proxy's page (well-formed HTML parses): retry
            raise TransportError(f"hub answered HTTP {response.status_code} without SOAP")
        body = root.find(q(SOAP11, "Body"))
        if body is None or len(body) != 1:
            raise ResponseError("answer without a SOAP Body")
        if body[0].tag == q(SOAP11, "Fault"):
            raise self._fault(body[0], response.status_code)
        return body[0]

    def _fault(self, fault: etree._Element, http_status: int) -> HubFault:
        code = fault.findtext(f"detail/{q(HIE, 'Fault')}/{q(HIE, 'Code')}") or "server.unavailable"
        spec = FAULTS.get(code)
        receipt_el = fault.find(f"detail/{q(HIE, 'Fault')}/{q(HIS, 'Receipt')}")
        receipt = None
        if receipt_el is not None:
            try:
                receipt = self._read_receipt(receipt_el)
            except (HubError, ResponseError):
                receipt = None
        retryable = spec.retryable if spec else http_status >= 500 and code.startswith("server.")
        return HubFault(code, spec.message if spec else (fault.findtext("faultstring") or ""),
                        retryable=retryable, receipt=receipt, http_status=http_status)

    def _receipts(self, response: etree._Element) -> list[ReceiptInfo]:
        # each receipt's signature is verified; its signer's certificate is checked once per answer
        # (a batch's receipts are all signed with the hub's one key: the chain check costs more than them)
        checked: list = []

        def check_signer(cert) -> None:
            if cert not in checked:
                self._check_hub_signer(cert)
                checked.append(cert)

        receipts = [self._read_receipt(r, check_signer) for r in response.iter(q(HIS, "Receipt"))]
        if not receipts:
            raise ResponseError("answer holds no receipt")
        return receipts

    def _read_receipt(self, element: etree._Element, check_signer=None) -> ReceiptInfo:
        try:
            info = read_receipt(element, check_signer=check_signer or self._check_hub_signer)
        except HubError as exc:
            raise ResponseError(f"receipt rejected: {exc.code}") from None
        if info.member and info.member != self.credentials.member:
            raise ResponseError("receipt names another member")
        return info

    def _check_hub_signer(self, cert) -> None:
        try:
            self.trust.check_hub_signer(cert, at=utcnow())
        except CertificateRejected as exc:
            raise ResponseError(f"hub signer rejected: {exc.code}") from None


class _PinnedSession(requests.Session):
    """A session whose ``verify`` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those variables replace a session's CA bundle (psf/requests#3829); the hub
    CA we were given must not be swapped for the system bundle. Proxies from the environment
    still apply.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None:
            settings["verify"] = self.verify
        return settings


def _copy(document) -> etree._Element:
    if isinstance(document, (bytes, str)):
        return parse_untrusted(document.encode("utf-8") if isinstance(document, str) else document)
    return etree.fromstring(etree.tostring(document))


class _CaOnly:
    """Trust check for clients that have the CA certificate but no CRL copy."""

    def __init__(self, ca_cert):
        self._ca = ca_cert if not isinstance(ca_cert, (str, Path)) else load_certificate(ca_cert)

    def check_hub_signer(self, cert, *, at) -> None:
        from certs.errors import CertificateRejected as Rejected

        try:
            cert.verify_directly_issued_by(self._ca)
        except Exception:
            raise Rejected("security.certificate.untrusted") from None
        if not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
            raise Rejected("security.certificate.expired")
        if member_of(cert) != "HUB":
            raise Rejected("security.certificate.untrusted")


__all__ = ["HubClient", "ReplyMessage", "MessageState"]
