"""A revocation takes effect in the running hub without a restart."""
from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from adapters.client import HubClient
from adapters.errors import HubFault
from hub.cli.main import main
from protocol.credentials import Credentials

from .builders import sample_document


def test_revoked_member_is_refused_by_the_running_hub(live_hub, pki_dir, hub_paths):
    runner = CliRunner()
    code = f"TEMP{uuid.uuid4().hex[:8].upper()}"
    issued = runner.invoke(main, ["pki", "issue", "--dir", str(pki_dir), "--member", code])
    assert issued.exit_code == 0, issued.output
    member = pki_dir / "members" / code
    client = HubClient(live_hub.url, credentials=Credentials.from_files(member / "cert.pem", member / "key.pem"),
                       hub_cert=hub_paths.hub_enc_cert, ca_cert=hub_paths.ca_cert)
    assert client.submit(sample_document()).accepted
    revoked = runner.invoke(main, ["pki", "revoke", "--dir", str(pki_dir), "--member", code])
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(HubFault) as refused:
        client.submit(sample_document())
    assert refused.value.code == "security.certificate.revoked"
    assert refused.value.receipt is not None and refused.value.receipt.status == "rejected"
