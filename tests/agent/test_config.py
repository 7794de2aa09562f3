"""agent.toml is checked when it is read: a setting that would misbehave later (a batch of 0 that sends
nothing, a hub address retried forever, a key file that is not there) stops the agent at start with one
line naming the setting and the file; a batch size above the hub's limit is lowered, with one warning."""
from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from adapters.agent import ConfigError, load
from adapters.agent.cli import main
from protocol.limits import MAX_BATCH_DOCUMENTS

from .conftest import ROOT, write_config, write_documents


def _config(tmp_path, pki_dir, *edits: tuple[str, str], append: str = ""):
    path = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    text = path.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text + append)
    return path


BATCH = f"[push] batch_size must be between 1 and {MAX_BATCH_DOCUMENTS}"
URL = "hub_url must be an http:// or https:// address"
HUB = "http://127.0.0.1:9/soap/exchange"


@pytest.mark.parametrize("edit, append, message", [
    (("batch_size = 25", "batch_size = 0"), "", f"{BATCH}, not 0"),
    (("batch_size = 25", "batch_size = -5"), "", BATCH),
    (("batch_size = 25", "batch_size = 2.5"), "", BATCH),
    (("timeout = 10", "timeout = 0"), "", "[push] timeout must be more than 0 seconds, not 0"),
    (("backoff_initial = 0.05", "backoff_initial = -1"), "", "[push] backoff_initial must be more than 0 seconds"),
    (("backoff_max = 0.5", "backoff_max = 0.01"), "", "[push] backoff_max must not be less than backoff_initial"),
    (("settle_seconds = 0", "settle_seconds = -5"), "",
     "source 'xml': settle_seconds must be 0 or more seconds, not -5"),
    (("settle_seconds = 0", "settle_seconds = 0\nmax_file_bytes = 0"), "",
     "max_file_bytes must be a whole number, 1 or more bytes"),
    (("name = \"xml\"", "name = \"xml\"\nbatch_size = 0"), "",
     "source 'xml': batch_size must be a whole number, 1 or more rows"),
    (("[push]", "[schedule]\npush = -30\n[push]"), "", "[schedule] push must be more than 0 seconds, not -30"),
    (("[push]", "[schedule]\ncollect = 0\n[push]"), "", "[schedule] collect must be more than 0 seconds"),
    (("[push]", "[warnings]\ncertificate_days = -1\n[push]"), "",
     "[warnings] certificate_days must be a whole number, 0 or more days"),
    ((HUB, "127.0.0.1:8080/soap/exchange"), "", URL),
    ((HUB, "ftp://hub.example/soap/exchange"), "", URL),
    ((HUB, "http:///soap/exchange"), "", URL),
    ((HUB, "https://hub.example:port/soap"), "", URL),
    ((HUB, "http://hub example/soap"), "", URL),
    (("members/CLINIC01/key.pem", "members/CLINIC01/key.pam"), "", "[certificates] key: no file"),
    (("enc-cert.pem", "enc.pem"), "", "[certificates] hub_cert: no file"),
    (('kinds = ["*"]', 'kinds = "*"'), "", "[[replies]] kinds must be a list"),
    (('state_dir = "state"', 'state_dir = "state"\nhub-url = "x"'), "", "unknown setting(s) hub-url"),
    (('member = "CLINIC01"', "member = 1"), "", "member must be text in quotes"),
])
def test_every_setting_is_checked_when_the_file_is_read(tmp_path, pki_dir, edit, append, message):
    path = _config(tmp_path, pki_dir, edit, append=append)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message in str(caught.value)
    assert str(caught.value).endswith(f"({path})") and "\n" not in str(caught.value)


def test_the_file_is_named_as_it_was_given(tmp_path, pki_dir, monkeypatch):
    path = _config(tmp_path, pki_dir, ("batch_size = 25", "batch_size = 0"))
    monkeypatch.chdir(path.parent)
    with pytest.raises(ConfigError, match=r"batch_size must be between 1 and \d+, not 0 \(agent.toml\)$"):
        load("agent.toml")


def test_batch_size_zero_is_refused_by_push_now_instead_of_sending_nothing(tmp_path, pki_dir):
    # batch_size = 0 used to leave every document pending forever, with "last error none".
    path = _config(tmp_path, pki_dir, ("batch_size = 25", "batch_size = 0"))
    result = CliRunner().invoke(main, ["push-now", "-c", str(path), "--give-up-after", "0"])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "batch_size must be between 1 and" in result.output and "Traceback" not in result.output


def test_a_hub_url_that_is_not_http_is_refused_at_start_not_retried_forever(tmp_path, pki_dir):
    path = _config(tmp_path, pki_dir, ("http://127.0.0.1:9/soap/exchange", "hub.example/soap/exchange"))
    run = subprocess.run([sys.executable, "-m", "adapters.agent.cli", "-c", str(path), "run"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "hub_url must be an http:// or https:// address" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_a_batch_size_above_the_hubs_limit_is_lowered_with_one_warning(tmp_path, pki_dir):
    path = _config(tmp_path, pki_dir, ("batch_size = 25", f"batch_size = {MAX_BATCH_DOCUMENTS + 300}"))
    config = load(path)
    assert config.push.batch_size == MAX_BATCH_DOCUMENTS
    (notice,) = config.notices
    assert f"batch_size {MAX_BATCH_DOCUMENTS + 300} is above the hub's limit of {MAX_BATCH_DOCUMENTS}" in notice
    result = CliRunner().invoke(main, ["status", "-c", str(path)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {notice}"]
    assert load(_config(tmp_path, pki_dir, ("batch_size = 25", f"batch_size = {MAX_BATCH_DOCUMENTS}"))).notices == ()


def test_a_certificate_and_key_swapped_are_named_as_such_when_pushing(tmp_path, pki_dir):
    path = _config(tmp_path, pki_dir, ("members/CLINIC01/key.pem", "members/CLINIC01/KEY"),
                   ("members/CLINIC01/cert.pem", "members/CLINIC01/key.pem"))
    path.write_text(path.read_text().replace("members/CLINIC01/KEY", "members/CLINIC01/cert.pem"))
    write_documents(path.parent, 1)
    result = CliRunner().invoke(main, ["push-now", "-c", str(path), "--give-up-after", "0"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "certificate and key swapped?" in result.output, result.output
