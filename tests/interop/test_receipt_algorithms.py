"""Receipt signatures: ECDSA P-256 by default, RSA when the PKI is made with an RSA signing key.

docs/security-profile.md §6 says so and gives the option (``hie pki init --sign-key-type
rsa-2048``); here a PKI is made each way through that very command, a hub answers a submission,
and the receipt's SignatureMethod is the documented one and verifies with the profile's
``xmlsec1`` receipt command (an independent verifier) against the hub CA, and with ours.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from certs import PkiPaths, issue_member
from hub.cli.main import main as hie
from hub.runtime import Hub
from hub.settings import Settings
from hub.soap.wsgi import GateMiddleware
from protocol.credentials import Credentials, load_certificate
from protocol.ns import DS, HIS, SignatureMethod, q
from protocol.receipts import read_receipt
from tests.exchange.builders import fault_code, sealed
from tests.exchange.conftest import _wsgi_poster
from tests.support.migrated import copy_migrated

PROFILE = Path(__file__).resolve().parents[2] / "docs" / "security-profile.md"
OPTIONS = {"default": ([], SignatureMethod.ECDSA_SHA256), "rsa": (["--sign-key-type", "rsa-2048"], SignatureMethod.RSA_SHA256)}


@pytest.fixture(params=list(OPTIONS))
def receipt_pki(request, tmp_path) -> tuple[Path, SignatureMethod]:
    options, method = OPTIONS[request.param]
    root = tmp_path / "pki"
    result = CliRunner().invoke(hie, ["pki", "init", "--dir", str(root), *options])
    assert result.exit_code == 0, result.output
    issue_member(root, member="CLINIC01")
    return root, method


def test_receipt_algorithm_is_the_documented_one(request, receipt_pki, tmp_path, xmlsec1):
    text = PROFILE.read_text("utf-8")
    assert "**ECDSA P-256**" in text and "`hie pki init --sign-key-type rsa-2048`" in text
    assert re.search(r"`Document` is typed `xs:anyType` in the WSDL", text)
    root, method = receipt_pki
    paths = PkiPaths.of(root)
    settings = Settings(data_dir=tmp_path, pki_dir=root, start_processor=False)
    copy_migrated(request, settings.db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    try:
        member = Credentials.from_files(root / "members" / "CLINIC01" / "cert.pem",
                                        root / "members" / "CLINIC01" / "key.pem")
        response = _wsgi_poster(GateMiddleware(hub))(sealed(member, load_certificate(paths.hub_enc_cert)))
    finally:
        hub.sessions.kw["bind"].dispose()
    assert response.status == 200 and fault_code(response.body) is None
    [receipt] = etree.fromstring(response.body).iter(q(HIS, "Receipt"))
    assert receipt.find(f"{q(DS, 'Signature')}/{q(DS, 'SignedInfo')}/{q(DS, 'SignatureMethod')}").get(
        "Algorithm") == method.value

    hub_signer = load_certificate(paths.hub_sign_cert)
    assert read_receipt(receipt, check_signer=lambda cert: cert == hub_signer).accepted
    path = tmp_path / "receipt.xml"
    path.write_bytes(etree.tostring(receipt))
    verified = xmlsec1.run_documented("verify-receipt", {"ca-cert.pem": paths.ca_cert, "receipt.xml": path})
    assert verified.returncode == 0, verified.stderr
    # Control: the command checks the chain — another hub's CA does not vouch for this receipt.
    other = tmp_path / "other-pki"
    assert CliRunner().invoke(hie, ["pki", "init", "--dir", str(other)]).exit_code == 0
    refused = xmlsec1.run_documented("verify-receipt", {"ca-cert.pem": PkiPaths.of(other).ca_cert, "receipt.xml": path})
    assert refused.returncode != 0
