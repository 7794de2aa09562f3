"""A revocation takes effect in the running hub without a restart, at every door (SOAP and JSON)."""
from __future__ import annotations

import uuid

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from adapters.client import HubClient
from adapters.errors import HubFault
from certs.keys import load_certificate
from certs.registry import serial_hex
from hub.audit import AuditEvent
from hub.auth import issue
from hub.cli.main import main
from hub.registry import HUB_OPERATOR, register_institution
from hub.store.db import transaction
from protocol.credentials import Credentials
from protocol.timestamps import utcnow

from .builders import sample_document


def _member(runner, pki_dir) -> str:
    code = f"TEMP{uuid.uuid4().hex[:8].upper()}"
    issued = runner.invoke(main, ["pki", "issue", "--dir", str(pki_dir), "--member", code])
    assert issued.exit_code == 0, issued.output
    return code


def test_revoked_member_is_refused_by_the_running_hub(live_hub, pki_dir, hub_paths):
    runner = CliRunner()
    code = _member(runner, pki_dir)
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
    # the refusal is audited with whose certificate it was: the CA vouches for both, the signature held
    with live_hub.hub.sessions() as session:
        row = session.execute(select(AuditEvent.member, AuditEvent.cert_serial)
                              .where(AuditEvent.code == "security.certificate.revoked")).one()
    assert tuple(row) == (code, serial_hex(load_certificate(member / "cert.pem").serial_number))


def _records_api(live_hub, token: str) -> httpx.Response:
    base = live_hub.url.rsplit("/soap/", 1)[0]
    return httpx.get(f"{base}/api/records/residents", params={"identifier": "x", "identifier_root": "y"},
                     headers={"Authorization": f"Bearer {token}"})


def _reasons(live_hub, code: str) -> list[str]:
    with live_hub.hub.sessions() as session:
        return list(session.scalars(select(AuditEvent.event_type).where(
            AuditEvent.member == code, AuditEvent.event_type.startswith("api.reject."))))


def test_revoking_the_certificate_stops_the_members_tokens_at_once(live_hub, pki_dir):
    runner = CliRunner()
    code = _member(runner, pki_dir)
    with transaction(live_hub.hub.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code=code, name="测试卫生院", kind="clinic",
                             division_code="330102")
        token = issue(session, member=code, label="test", now=utcnow())
    assert _records_api(live_hub, token).status_code == 200
    assert runner.invoke(main, ["pki", "revoke", "--dir", str(pki_dir), "--member", code]).exit_code == 0
    refused = _records_api(live_hub, token)
    assert (refused.status_code, refused.json()["code"]) == (403, "access.denied")
    assert _reasons(live_hub, code) == ["api.reject.certificate_revoked"]
    # a renewed certificate does not bring the old token back (the revocation may mean the
    # organization's secrets leaked); a token issued after the renewal works
    renewed = runner.invoke(main, ["pki", "issue", "--dir", str(pki_dir), "--member", code, "--renew"])
    assert renewed.exit_code == 0, renewed.output
    assert _records_api(live_hub, token).status_code == 403
    with transaction(live_hub.hub.sessions) as session:
        fresh = issue(session, member=code, label="after renewal", now=utcnow())
    assert _records_api(live_hub, fresh).status_code == 200


def test_a_deactivated_members_tokens_fail_at_once(live_hub, pki_dir):
    code = _member(CliRunner(), pki_dir)
    with transaction(live_hub.hub.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code=code, name="测试卫生院", kind="clinic",
                             division_code="330102")
        token = issue(session, member=code, label="test", now=utcnow())
    assert _records_api(live_hub, token).status_code == 200
    with transaction(live_hub.hub.sessions) as session:
        register_institution(session, actor=HUB_OPERATOR, code=code, name="测试卫生院", kind="clinic",
                             division_code="330102", status="inactive")
    refused = _records_api(live_hub, token)
    assert (refused.status_code, refused.json()["code"]) == (403, "access.denied")
    assert _reasons(live_hub, code) == ["api.reject.inactive"]
