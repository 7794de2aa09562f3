"""``hie-agent init`` writes a configuration that loads; status reports and warns; config errors are clear."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from adapters.agent import ConfigError, load
from adapters.agent.cli import main
from adapters.agent.status import certificate_warnings, skew_warning

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
    assert "backlog          3" in status.output and "quarantined      1" in status.output
    assert "last error       transport.unavailable" in status.output
    listing = runner.invoke(main, ["quarantine", "list", "-c", str(config)])
    assert "source.xml.malformed" in listing.output and "not xml" not in listing.output


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
