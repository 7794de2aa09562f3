"""The `hie` command: send, messages, help — against a live hub."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub.cli.main import main

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "schemas" / "examples"


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "pki", "send", "messages", "demo", "tokens"):
        assert command in result.output


def test_send_examples_then_list_messages(live_hub, pki_dir, tmp_path):
    member = pki_dir / "members" / "CLINIC01"
    files = sorted(str(p) for p in EXAMPLES.glob("*.xml"))
    result = CliRunner().invoke(main, ["send", "--hub", live_hub.url, "--member", "CLINIC01", "--cert",
                                       str(member / "cert.pem"), "--key", str(member / "key.pem"), *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": accepted") == len(files)
    batch = CliRunner().invoke(main, ["send", "--batch", "--hub", live_hub.url, "--member", "CLINIC01", "--cert",
                                      str(member / "cert.pem"), "--key", str(member / "key.pem"), *files])
    assert batch.exit_code == 0 and batch.output.count(": accepted") == len(files)
    listing = CliRunner().invoke(main, ["messages", "--data-dir", str(tmp_path), "--database-url",
                                        live_hub.hub.settings.db_url, "--json"])
    rows = [json.loads(line) for line in listing.output.splitlines()]
    assert len(rows) == 2 * len(files) and {r["member"] for r in rows} == {"CLINIC01"}
    assert {r["type"] for r in rows} == {p.stem for p in EXAMPLES.glob("*.xml")}


def test_send_refuses_wrong_org_and_bad_file(live_hub, pki_dir, tmp_path):
    member = pki_dir / "members" / "CLINIC01"
    args = ["send", "--hub", live_hub.url, "--cert", str(member / "cert.pem"), "--key", str(member / "key.pem")]
    wrong = CliRunner().invoke(main, [*args, "--member", "HOSP01", str(EXAMPLES / "LabReport.xml")])
    assert wrong.exit_code != 0 and "does not match" in wrong.output
    bad = tmp_path / "bad.xml"
    bad.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    refused = CliRunner().invoke(main, [*args, "--member", "CLINIC01", str(bad)])
    assert refused.exit_code == 1 and "xml.forbidden" in refused.output


def test_send_to_unreachable_hub_is_a_clear_error(pki_dir):
    member = pki_dir / "members" / "CLINIC01"
    result = CliRunner().invoke(main, ["send", "--hub", "http://127.0.0.1:9/soap/exchange", "--member", "CLINIC01",
                                       "--cert", str(member / "cert.pem"), "--key", str(member / "key.pem"),
                                       str(EXAMPLES / "LabReport.xml")])
    assert result.exit_code == 2 and "transport.unavailable" in result.output


def test_messages_on_a_directory_without_a_hub_is_one_line_and_creates_nothing(tmp_path):
    for data_dir in (tmp_path / "missing", tmp_path):  # a directory that is not there, an empty one
        result = CliRunner().invoke(main, ["messages", "--data-dir", str(data_dir)])
        assert result.exit_code == 1 and result.output.count("\n") == 1 and "no hub database" in result.output
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # no hub.db left behind


@pytest.mark.parametrize("cert, key, words", [
    ("CLINIC01/cert.pem", "not-a-key.pem", "the key file is not a PEM private key: "),
    ("CLINIC01/key.pem", "CLINIC01/cert.pem", "the certificate file holds a private key (certificate and key swapped?)"),
    ("CLINIC01/cert.pem", "CLINIC01/cert.pem", "the key file holds a certificate (certificate and key swapped?)"),
    ("CLINIC01/cert.pem", "HOSP01/key.pem", "the private key does not belong to the certificate: "),
], ids=["not-a-key", "swapped", "cert-as-key", "another-members-key"])
def test_send_with_unusable_credentials_is_one_line_with_a_code(pki_dir, tmp_path, cert, key, words):
    (tmp_path / "not-a-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    place = {name: (tmp_path / name if name == "not-a-key.pem" else pki_dir / "members" / name) for name in (cert, key)}
    result = CliRunner().invoke(main, ["send", "--hub", "http://127.0.0.1:9/soap/exchange", "--member", "CLINIC01",
                                       "--cert", str(place[cert]), "--key", str(place[key]),
                                       str(EXAMPLES / "LabReport.xml")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: credentials.invalid: ")
    assert words in result.output and "BEGIN" not in result.output
