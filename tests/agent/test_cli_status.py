"""``hie-agent init`` writes a configuration that loads; status reports and warns; config errors are clear."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from adapters.agent import Agent, ConfigError, load
from adapters.agent.cli import main
from adapters.agent.status import certificate_warnings, skew_warning
from adapters.client import HubClient
from tests.support.documents import document

from .conftest import write_config, write_documents


def test_init_writes_a_working_config_for_the_demo_layout(tmp_path, monkeypatch, pki_dir):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".demo").mkdir()
    (tmp_path / ".demo" / "pki").symlink_to(pki_dir)  # hie demo keeps its PKI in .demo/pki
    runner = CliRunner()
    result = runner.invoke(main, ["init", "-c", "clinic/agent.toml", "--member", "CLINIC01"])
    assert result.exit_code == 0, result.output
    config = load(tmp_path / "clinic" / "agent.toml")
    assert config.certificates.cert.exists() and config.certificates.ca_cert.exists()
    assert config.sources[0].folder == tmp_path / "clinic" / "outgoing" and config.sources[0].folder.is_dir()
    assert config.replies[0].kinds == ("*",)
    assert runner.invoke(main, ["init", "-c", "clinic/agent.toml"]).exit_code != 0  # never overwrites silently
    status = runner.invoke(main, ["status", "-c", "clinic/agent.toml"])
    assert status.exit_code == 0, status.output
    assert "backlog          0" in status.output and "certificate      expires" in status.output


def test_status_counts_backlog_and_quarantine_without_a_hub(tmp_path, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    write_documents(config.parent, 3)
    (config.parent / "outgoing" / "bad.xml").write_bytes(b"not xml")
    runner = CliRunner()
    result = runner.invoke(main, ["push-now", "-c", str(config), "--give-up-after", "0"])
    assert result.exit_code != 0 and "transport.unavailable" in result.output
    status = runner.invoke(main, ["status", "-c", str(config)])
    assert "backlog          3" in status.output
    assert "last error       transport.unavailable" in status.output
    assert _outbox_line(status.output, "outbox           ") == _outbox_line(result.output, "outbox now: ") == (
        "queued 0, sent 3, accepted 0, accepted with findings 0, rejected 0, quarantined 1, waiting 0")
    listing = runner.invoke(main, ["quarantine", "list", "-c", str(config)])
    assert "source.xml.malformed" in listing.output and "not xml" not in listing.output
    (line,) = listing.output.splitlines()
    assert line.split("\t")[1:3] == ["xml", "bad.xml"]  # the entry names the file to fix


def test_quarantine_list_says_how_many_items_its_limit_left_out(tmp_path, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    for name in ("a", "b", "c"):
        (config.parent / "outgoing" / f"{name}.xml").write_bytes(f"not xml {name}".encode())
    runner = CliRunner()
    assert "quarantined 3" in runner.invoke(main, ["push-now", "-c", str(config), "--give-up-after", "0"]).output
    listing = runner.invoke(main, ["quarantine", "list", "-c", str(config), "--limit", "2"])
    assert listing.exit_code == 0, listing.output
    assert [line.split("\t")[2] for line in listing.stdout.splitlines()] == ["a.xml", "b.xml"]
    assert listing.stderr.splitlines() == [
        "... 1 more quarantined item(s) not shown (3 in all): hie-agent quarantine list --limit 3"]
    assert runner.invoke(main, ["quarantine", "list", "-c", str(config)]).stderr == ""


def _outbox_line(output: str, prefix: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(prefix)]
    return line[len(prefix):]


def test_push_now_and_status_agree_on_the_same_outbox(tmp_path, running_hub, pki_dir, members, hub_paths):
    # push-now printed "accepted 2, quarantined 1" (the hub's refusals of this run) while status said
    # "quarantined 3" (everything ever refused): two counts under one name that never matched.
    config = write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir)
    config.write_text(config.read_text().replace("settle_seconds = 0", "settle_seconds = 30"))
    outgoing = config.parent / "outgoing"
    settled = [*write_documents(config.parent, 3), outgoing / "broken.xml", outgoing / "wrong.xml"]
    settled[3].write_bytes(b"not xml")
    settled[4].write_bytes(b'<LabReport xmlns="urn:hie:doc:v1"/>')
    for path in settled:
        os.utime(path, (time.time() - 120, time.time() - 120))
    write_documents(config.parent, 2, tag="NEW")  # still being written, as far as the agent can tell
    agent = Agent(load(config))
    agent.collect()
    victim = agent.outbox().backlog(1)[0]  # another copy of this outbox already used its MessageID
    HubClient(running_hub.url, credentials=members["CLINIC01"], hub_cert=hub_paths.hub_enc_cert,
              ca_cert=hub_paths.ca_cert).submit(document("LabReport", document_id="CLINIC01-LAB-OTHER"),
                                                message_id=victim.message_id)
    runner = CliRunner()
    pushed = runner.invoke(main, ["push-now", "-c", str(config), "--give-up-after", "0"])
    assert pushed.exit_code == 0, pushed.output
    assert "collected xml: 0 new item(s); 2 file(s) waiting for settle_seconds=30" in pushed.output
    assert "pushed in 1 request(s): accepted 2, rejected 1" in pushed.output
    status = runner.invoke(main, ["status", "-c", str(config)])
    assert _outbox_line(status.output, "outbox           ") == _outbox_line(pushed.output, "outbox now: ") == (
        "queued 0, sent 0, accepted 2, accepted with findings 0, rejected 1, quarantined 2, waiting 2")
    listing = runner.invoke(main, ["quarantine", "list", "-c", str(config)]).output.splitlines()
    assert sorted(line.split("\t")[2] for line in listing) == sorted(["broken.xml", "wrong.xml", victim.origin])
    assert (outgoing / "broken.xml").exists() and not (outgoing / "sent" / "broken.xml").exists()
    assert (outgoing / "sent" / victim.origin).exists()  # sent, then refused by the hub: it did go


def test_push_now_names_quarantined_files_and_waiting_ones(tmp_path, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    config.write_text(config.read_text().replace("settle_seconds = 0", "settle_seconds = 30"))
    bad = config.parent / "outgoing" / "bad.xml"
    bad.write_bytes(b"not xml")
    os.utime(bad, (time.time() - 120, time.time() - 120))
    write_documents(config.parent, 3)
    result = CliRunner().invoke(main, ["push-now", "-c", str(config), "--give-up-after", "0"])
    assert ("collected xml: 1 new item(s); quarantined bad.xml (source.xml.malformed); "
            "3 file(s) waiting for settle_seconds=30") in result.output
    assert bad.exists()


def test_certificate_warnings(pki_dir):
    member = pki_dir / "members"
    assert certificate_warnings({"x": member / "CLINIC01" / "cert.pem"}, within_days=30) == []
    (expired,) = certificate_warnings({"x": member / "EXPIRED01" / "cert.pem"}, within_days=30)
    assert "expired" in expired
    later = datetime.now(timezone.utc) + timedelta(days=360)  # CLINIC01's certificate then has days left
    (soon,) = certificate_warnings({"x": member / "CLINIC01" / "cert.pem"}, within_days=30, now=later)
    assert "expires in" in soon


def test_clock_skew_warns_well_before_the_hub_refuses():
    assert skew_warning(None, threshold=60) == [] and skew_warning(30.0, threshold=60) == []
    (ahead,) = skew_warning(-75.0, threshold=60)  # our clock 75 s ahead: the hub refuses at 120 s
    assert "ahead of" in ahead
    assert "behind" in skew_warning(400.0, threshold=60)[0]


def test_config_errors_name_the_problem(tmp_path, pki_dir):
    path = tmp_path / "agent.toml"
    path.write_text('member = "X"\n[certificates]\ncert = "c"\nkey = "k"\nhub_cert = "h"\nca_cert = "a"\n')
    with pytest.raises(ConfigError, match="hub_url is missing"):
        load(path)
    path.write_text("member = ")
    with pytest.raises(ConfigError, match="TOML"):
        load(path)
    path = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    path.write_text(path.read_text().replace("timeout = 10", "timeout = 10\nbatch = 5"))
    with pytest.raises(ConfigError, match=r"\[push\]: unknown setting\(s\) batch"):
        load(path)
