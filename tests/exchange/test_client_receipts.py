"""HubClient reads a batch answer's receipts: every signature verified, the signer checked once per
certificate and answer (the chain check cost more than the receipts), a stranger's receipt refused."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree

from adapters.client import HubClient
from adapters.errors import ResponseError
from protocol.credentials import Credentials
from protocol.ns import HIS, q
from protocol.receipts import ReceiptStatus, build_receipt
from protocol.xmlparse import parse_untrusted


@pytest.fixture
def client(members, hub_paths) -> HubClient:
    return HubClient("http://127.0.0.1:9/soap/exchange", credentials=members["CLINIC01"],
                     hub_cert=hub_paths.hub_enc_cert, ca_cert=hub_paths.ca_cert)


@pytest.fixture(scope="module")
def hub_signer(hub_paths) -> Credentials:
    return Credentials.from_files(hub_paths.hub_sign_cert, hub_paths.hub_sign_key)


def answer(*signers: Credentials, member: str = "CLINIC01") -> etree._Element:
    """An answer holding one receipt per signer, parsed as the client parses the hub's bytes."""
    receipts = b"".join(build_receipt(
        signer=signer, message_id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}", member=member,
        message_sha256="0" * 64, received_at=datetime.now(timezone.utc), status=ReceiptStatus.ACCEPTED)
        for n, signer in enumerate(signers))
    return parse_untrusted(b'<answer xmlns="urn:example:answer">' + receipts + b"</answer>")


def test_the_signer_is_checked_once_per_answer_and_every_receipt_is_verified(client, hub_signer, monkeypatch):
    checked = []
    real = client._check_hub_signer
    monkeypatch.setattr(client, "_check_hub_signer", lambda cert: (checked.append(cert), real(cert))[1])
    receipts = client._receipts(answer(*[hub_signer] * 5))
    assert [r.message_id[-1] for r in receipts] == list("01234") and len(checked) == 1
    client._receipts(answer(hub_signer, hub_signer))
    assert len(checked) == 2  # a new answer checks again (a revoked or expired hub certificate is seen)

    tampered = answer(*[hub_signer] * 3)
    tampered[1].find(q(HIS, "Status")).text = "rejected"
    with pytest.raises(ResponseError, match="receipt rejected: security.signature.invalid"):
        client._receipts(tampered)


def test_a_receipt_signed_by_a_member_among_the_hubs_is_refused(client, hub_signer, members):
    with pytest.raises(ResponseError, match="hub signer rejected"):
        client._receipts(answer(hub_signer, members["HOSP01"], hub_signer))
    with pytest.raises(ResponseError, match="hub signer rejected"):
        client._receipts(answer(hub_signer, members["FOREIGN01"]))
