"""The attack corpus (the attacks package) through the real WSGI stack, on SQLite and PostgreSQL.

For every case: a SOAP Fault with the expected machine code, nothing stored, one failure audit
row with that code, no input fragment echoed, and nothing printed by libxml2, xmlsec or anyone.

The hub here is module-scoped per backend (``db_url``/``hub`` are overridden below with the
conftest's own recipe): a refused request must store nothing, which every case asserts, so the
cases can share one hub and the whole corpus runs on both backends in seconds.
"""
from __future__ import annotations

import hashlib
import shutil
import uuid
import zlib

import pytest
from lxml import etree
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.runtime import Hub
from hub.settings import Settings
from hub.soap import wsgi
from protocol.errors import FAULTS
from protocol.ns import HIS, SOAP11, q
from protocol.receipts import read_receipt
from protocol.timestamps import utcnow
from tests.support.migrated import copy_migrated

from .attacks import CASES, CLASSES, ENCRYPTION, PARSER, REPLAY, SIGNATURE, Kit, xmlsec_accepts
from .builders import fault_code
from .conftest import stored

# Codes given only after open_request proved the signature, certificate, sender and timestamp.
AFTER_SIGNATURE = {"security.replay", "security.decryption.failed", "soap.operation.unknown",
                   "security.algorithm.forbidden", "security.recipient.unknown"}


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('corpus')}/hub.db"
        return
    server = request.getfixturevalue("pg_server")
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture(scope="module")
def hub(request, tmp_path_factory, db_url, pki_dir) -> Hub:
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus-hub"), database_url=db_url, pki_dir=pki_dir,
                        start_processor=False)
    copy_migrated(request, db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    yield hub
    hub.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def kit(members, hub_enc_cert):
    kit = Kit(members, hub_enc_cert)
    yield kit
    kit.close()


class _CountingZlib:
    """Stands in for ``zlib`` in hub.soap.wsgi and counts every byte the hub inflates."""

    error = zlib.error

    def __init__(self):
        self.inflated = 0

    def decompressobj(self, *args, **kwargs):
        real, counter = zlib.decompressobj(*args, **kwargs), self

        class Inflater:
            def decompress(self, data, max_length=0):
                out = real.decompress(data, max_length)
                counter.inflated += len(out)
                return out

            def __getattr__(self, name):
                return getattr(real, name)

        return Inflater()


def _audit_rows(hub) -> list[AuditEvent]:
    with hub.sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _receipt(body: bytes, hub):
    element = etree.fromstring(body).find(f".//{q(HIS, 'Receipt')}")
    if element is None:
        return None
    return read_receipt(element, check_signer=lambda cert: hub.trust.check_hub_signer(cert, at=utcnow()))


_HUB_CA_CERTIFICATE_REFUSED = ("security.certificate.expired", "security.certificate.revoked",
                               "security.certificate.usage")


@pytest.mark.parametrize("name", list(CASES))
def test_attack_is_refused(name, hub, post, kit, capfd, monkeypatch):
    case = CASES[name]
    if case.needs_openssl and shutil.which("openssl") is None:
        pytest.skip("openssl command not available to build the certificate")
    attack = kit.attack(name)
    for data in attack.prime:
        post(data)
    before, audited = stored(hub), len(_audit_rows(hub))
    inflation = _CountingZlib()
    monkeypatch.setattr(wsgi, "zlib", inflation)
    capfd.readouterr()

    answer = post(attack.data, headers=attack.headers)
    out, err = capfd.readouterr()

    assert fault_code(answer.body) == case.code, name
    assert answer.status == 500
    fault = etree.fromstring(answer.body).find(f"{q(SOAP11, 'Body')}/{q(SOAP11, 'Fault')}")
    assert fault.findtext("faultstring") == FAULTS[case.code].message
    assert stored(hub) == before
    new = _audit_rows(hub)[audited:]
    assert [(row.code, row.outcome) for row in new] == [(case.code, "failure")]
    secrets = list(attack.secrets)
    if case.authenticated:
        assert new[0].message_id == attack.message_id
    elif case.code in _HUB_CA_CERTIFICATE_REFUSED:
        # signed with a certificate of the hub CA, refused for its state: audited against its holder
        assert new[0].message_id is None and new[0].member and new[0].cert_serial
    else:  # nobody the CA vouches for: the audit names no one (the claim could be anyone's)
        assert new[0].message_id is None and new[0].member is None and new[0].cert_serial is None
        secrets.append(attack.message_id.encode())
    leaked = [secret for secret in secrets if secret and secret in answer.body]
    assert not leaked, f"fault echoes input: {leaked}"
    assert (out, err) == ("", ""), "libxml2/xmlsec/cryptography must stay silent"
    assert inflation.inflated <= hub.settings.max_message_bytes + 1

    receipt = _receipt(answer.body, hub)
    if receipt is not None:  # every request whose bytes could be read gets a signed rejection
        assert (receipt.status, receipt.code) == ("rejected", case.code)
        assert receipt.message_id == (attack.message_id if case.authenticated else "")
        if "HTTP_CONTENT_ENCODING" not in attack.headers:
            assert receipt.message_sha256 == hashlib.sha256(attack.data).hexdigest()
    else:
        assert case.code.startswith("transport.")


def test_corpus_size_and_classes():
    assert len(CASES) >= 35 and len(set(CASES)) == len(CASES)
    per_class = {klass: [c for c in CASES.values() if c.klass == klass] for klass in CLASSES}
    assert {c.klass for c in CASES.values()} == set(CLASSES)
    assert len(per_class[PARSER]) >= 12 and len(per_class[SIGNATURE]) >= 20
    assert len(per_class[ENCRYPTION]) >= 7 and len(per_class[REPLAY]) >= 5
    assert all(c.doc for c in CASES.values()), "every case says what it does"


def test_corpus_codes_are_registered():
    assert {c.code for c in CASES.values()} <= set(FAULTS)
    assert all(c.code in AFTER_SIGNATURE for c in CASES.values() if c.authenticated)


@pytest.mark.parametrize("name", [name for name, c in CASES.items() if c.valid_signature])
def test_member_signature_is_valid(name, kit):
    """These attacks carry a signature that a permissive (zeep-like) xmlsec verifier accepts:
    only the profile's own checks can refuse them."""
    assert xmlsec_accepts(kit.attack(name).data)


def test_permissive_verifier_is_not_vacuous(kit):
    assert xmlsec_accepts(kit.seal().bytes())
    assert not xmlsec_accepts(kit.attack("signature_value_tampered").data)
    assert not xmlsec_accepts(kit.attack("digest_tampered").data)


def test_identical_resend_returns_original_receipt(hub, post, kit, capfd):
    data = kit.seal().bytes()
    first = post(data)
    assert fault_code(first.body) is None
    before, audited = stored(hub), len(_audit_rows(hub))
    again = post(data)
    assert fault_code(again.body) is None
    original, resent = (etree.fromstring(r.body).find(f".//{q(HIS, 'Receipt')}") for r in (first, again))
    assert etree.tostring(resent) == etree.tostring(original)
    assert _receipt(again.body, hub).status == "accepted"
    assert stored(hub) == before
    assert [(row.event_type, row.outcome) for row in _audit_rows(hub)[audited:]] == [("message.duplicate", "success")]
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("stage", ["open", "finish"])
def test_unexpected_gate_failure_fails_closed(hub, post, kit, monkeypatch, capfd, stage):
    """A bug inside either stage of the gate still answers with a code and an audit row, and echoes nothing."""
    msg = kit.seal()
    leak = f"患者-{msg.message_id}"

    def broken(*args, **kwargs):
        raise RuntimeError(leak)  # exception text built from the input

    monkeypatch.setattr(hub.gate, stage, broken)
    before, audited = stored(hub), len(_audit_rows(hub))
    answer = post(msg.bytes())
    assert fault_code(answer.body) == "server.unavailable"
    assert leak.encode() not in answer.body
    if stage == "open":  # nothing is verified yet: the answer carries no receipt naming the message
        assert msg.message_id.encode() not in answer.body
    assert stored(hub) == before
    assert [(row.code, row.outcome) for row in _audit_rows(hub)[audited:]] == [("server.unavailable", "failure")]
    assert msg.message_id not in "".join(capfd.readouterr())
