"""The ``pki`` click group end to end through CliRunner."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from cryptography import x509

from certs import MemberPaths, PkiPaths, TrustStore, issue_member, load_certificate
from hub.cli.pki import pki


@pytest.fixture
def runner():
    return CliRunner()


def test_init_issue_revoke_list(runner, tmp_path):
    directory = str(tmp_path / "pki")
    result = runner.invoke(pki, ["init", "--dir", directory, "--hub-name", "CLI Hub",
                                 "--hostname", "hub.example.org", "--hostname", "10.1.2.3"])
    assert result.exit_code == 0, result.output
    assert str(PkiPaths.of(directory).ca_cert) in result.stdout
    san = load_certificate(PkiPaths.of(directory).tls_cert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "hub.example.org" in san.get_values_for_type(x509.DNSName)

    result = runner.invoke(pki, ["issue", "--dir", directory, "--member", "ORG1", "--name", "Org One",
                                 "--key-type", "ec-p256", "--days", "40"])
    assert result.exit_code == 0, result.output
    member = MemberPaths.of(directory, "ORG1")
    assert f"certificate: {member.cert}" in result.stdout and f"private key: {member.key}" in result.stdout
    now = datetime.now(timezone.utc)
    assert TrustStore(directory).check_member(load_certificate(member.cert), at=now).member == "ORG1"

    result = runner.invoke(pki, ["revoke", "--dir", directory, "--member", "ORG1", "--reason", "keyCompromise"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(PkiPaths.of(directory).crl)

    issue_member(directory, member="ORG2", not_after=now + timedelta(days=3))
    result = runner.invoke(pki, ["list", "--dir", directory])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0][:2] == ["ROLE", "MEMBER"]
    statuses = {row[1]: row[4] for row in rows[1:]}
    assert statuses == {"HUB": "valid", "ORG1": "revoked", "ORG2": "expiring"}
    assert re.search(r"^warning: member ORG2 certificate .* expires in 2 days", result.stderr, re.M)
    assert "ORG1" not in result.stderr

    result = runner.invoke(pki, ["list", "--dir", directory, "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert {item["member"]: item["status"] for item in listed if item["role"] == "member"} == {
        "ORG1": "revoked", "ORG2": "expiring"}
    assert listed[-1]["not_after"].endswith("Z")


@pytest.mark.parametrize(("args", "code"), [
    (["issue", "--member", "HOSP-001"], "pki.member.exists"),
    (["issue", "--member", "bad code!"], "pki.member.invalid"),
    (["revoke", "--member", "NOBODY"], "pki.member.unknown"),
    (["init"], "pki.exists"),
])
def test_errors_exit_2_with_code_on_stderr(runner, pki_dir, args, code):
    result = runner.invoke(pki, [*args[:1], "--dir", str(pki_dir), *args[1:]])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {code}: ")
    assert result.stdout == ""


def test_issue_renew_via_cli(runner, pki_dir, rsa_member):
    before = MemberPaths.of(pki_dir, rsa_member).cert.read_bytes()
    result = runner.invoke(pki, ["issue", "--dir", str(pki_dir), "--member", rsa_member, "--renew",
                                 "--key-type", "ec-p256"])
    assert result.exit_code == 0, result.output
    assert MemberPaths.of(pki_dir, rsa_member).cert.read_bytes() != before


def test_issue_on_uninitialised_directory(runner, tmp_path):
    result = runner.invoke(pki, ["issue", "--dir", str(tmp_path), "--member", "ORG1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: pki.missing: ")


def test_crl_command_resigns(runner, pki_dir):
    before = PkiPaths.of(pki_dir).crl.read_bytes()
    result = runner.invoke(pki, ["crl", "--dir", str(pki_dir), "--days", "2"])
    assert result.exit_code == 0, result.output
    crl = x509.load_pem_x509_crl(PkiPaths.of(pki_dir).crl.read_bytes())
    assert PkiPaths.of(pki_dir).crl.read_bytes() != before
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=2)
