"""``hie-agent`` as docs/agent.md has a newcomer type it: the command line ``init`` suggests works, and
a typo in agent.toml or in a path is one clear line naming it, not a traceback."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from adapters.agent.cli import main

from .conftest import write_config


def _config(tmp_path, pki_dir, *, replace: tuple[str, str] | None = None):
    path = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    if replace:
        assert replace[0] in path.read_text()
        path.write_text(path.read_text().replace(*replace))
    return path


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # a message, not a traceback
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def test_config_option_before_the_command_as_init_suggests(tmp_path, pki_dir):
    # `hie-agent init` ends with "run `hie-agent -c agent.toml push-now`": that must work.
    runner = CliRunner()
    init = runner.invoke(main, ["init", "-c", str(tmp_path / "agent.toml"), "--pki", str(pki_dir)])
    assert init.exit_code == 0 and "hie-agent -c" in init.output
    status = runner.invoke(main, ["-c", str(tmp_path / "agent.toml"), "status"])
    assert status.exit_code == 0, status.output
    assert "backlog" in status.output


def test_certificate_path_typo_is_one_clear_line(tmp_path, pki_dir):
    config = _config(tmp_path, pki_dir, replace=("members/CLINIC01/cert.pem", "members/CLINIC1/cert.pem"))
    runner = CliRunner()
    for command in (["push-now", "--give-up-after", "0"], ["replies"]):
        _one_line_error(runner.invoke(main, [*command, "-c", str(config)]), "CLINIC1/cert.pem")


@pytest.mark.parametrize("replace, words", [
    (("[[sources]]", "[sources]"), ["sources"]),
    (('kind = "canonical"', 'kind = "canonicl"'), ["canonicl"]),
    (("batch_size = 25", 'batch_size = "25"'), ["batch_size"]),
    (('[[replies]]', '[replies]'), ["replies"]),
])
def test_typos_in_agent_toml_are_one_clear_line(tmp_path, pki_dir, replace, words):
    config = _config(tmp_path, pki_dir, replace=replace)
    _one_line_error(CliRunner().invoke(main, ["status", "-c", str(config)]), *words)


def test_push_now_says_which_source_failed(tmp_path, pki_dir):
    config = _config(tmp_path, pki_dir, replace=('folder = "outgoing"', 'folder = "outgoin"'))
    result = CliRunner().invoke(main, ["push-now", "-c", str(config), "--give-up-after", "0"])
    assert "outgoin does not exist" in result.output, result.output


def test_a_missing_or_non_utf8_agent_toml_is_one_line(tmp_path):
    missing = CliRunner().invoke(main, ["status", "-c", str(tmp_path / "nowhere" / "agent.toml")])
    _one_line_error(missing, "hie-agent init")
    latin = tmp_path / "agent.toml"
    latin.write_bytes('member = "诊所"\n'.encode("gb18030"))  # saved by an editor in the local code page
    _one_line_error(CliRunner().invoke(main, ["status", "-c", str(latin)]), "UTF-8")
