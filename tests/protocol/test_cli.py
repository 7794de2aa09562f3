"""``protocol.cli.OneLineGroup``, the group both command lines mount their commands on: whatever escapes
a command is one line, ``error: <code>: <detail>``; a bug is ``internal: <type>`` without its message
(it may quote data), with the traceback only under ``HIE_DEBUG=1``."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from certs.errors import CertsError
from olap.errors import QueryError
from protocol.cli import OneLineGroup
from protocol.errors import RecordError

SECRET = "合成测试甲"  # a synthetic patient name, as a careless message might quote it


@click.group(cls=OneLineGroup)
def cli():
    """A command line like hie's."""


@cli.group()
def records():
    """A plain sub-group: its commands are covered by the root's group."""


@records.command()
@click.option("--path", required=True)
@click.option("--raise", "kind", type=click.Choice(["bug", "record", "certs", "olap", "os", "click"]))
def read(path, kind):
    if kind == "bug":
        raise RuntimeError(f"cannot store {SECRET}")
    if kind == "record":
        raise RecordError("record.schema.invalid", f"value {SECRET}", field="/patient/name")
    if kind == "certs":
        raise CertsError("pki.missing", detail=path)
    if kind == "olap":
        raise QueryError("olap.query.failed", "Code: 60. Table mart.x does not exist", engine_code=60)
    if kind == "click":
        raise click.ClickException("registry.not_found: no active registry entry")
    with open(path, encoding="utf-8"):
        pass


@pytest.fixture
def run(monkeypatch):
    monkeypatch.delenv("HIE_DEBUG", raising=False)

    def invoke(*arguments: str):
        result = CliRunner().invoke(cli, ["records", "read", *arguments])
        assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
        assert SECRET not in result.output
        return result
    return invoke


@pytest.mark.parametrize("arguments, line, exit_code", [
    (["--path", "p", "--raise", "bug"], "error: internal: RuntimeError (set HIE_DEBUG=1 to see the traceback)", 1),
    (["--path", "p", "--raise", "record"],
     "error: record.schema.invalid: document does not conform to its schema (see the field) (/patient/name)", 1),
    (["--path", "/srv/pki", "--raise", "certs"],
     "error: pki.missing: PKI directory is not initialised (CA certificate or key missing)", 1),
    (["--path", "p", "--raise", "olap"], "error: olap.query.failed: Code: 60. Table mart.x does not exist", 1),
    (["--path", "p", "--raise", "click"], "error: registry.not_found: no active registry entry", 1),
    (["--path", "/nonexistent/file.xml"], "error: file.not_found: No such file or directory: /nonexistent/file.xml", 1),
    ([], "error: usage: Missing option '--path'. (cli records read)", 2),
    (["--path", "p", "--raise", "flood"], "error: usage: Invalid value for '--raise': 'flood' is not one of 'bug', "
                                          "'record', 'certs', 'olap', 'os', 'click'. (cli records read)", 2),
])
def test_whatever_escapes_is_one_line(run, arguments, line, exit_code):
    result = run(*arguments)
    assert (result.exit_code, result.output) == (exit_code, line + "\n")


def test_an_unknown_command_is_one_line_too():
    result = CliRunner().invoke(cli, ["recrods"])
    assert result.exit_code == 2
    assert result.output == "error: usage: No such command 'recrods'. Did you mean 'records'? (cli)\n"


def test_hie_debug_adds_the_traceback(run, monkeypatch):
    monkeypatch.setenv("HIE_DEBUG", "1")
    result = CliRunner().invoke(cli, ["records", "read", "--path", "p", "--raise", "bug"])
    assert "Traceback" in result.output and result.output.endswith("error: internal: RuntimeError "
                                                                   "(set HIE_DEBUG=1 to see the traceback)\n")


def test_a_group_without_a_command_still_shows_its_help():
    for arguments in ([], ["records"]):
        result = CliRunner().invoke(cli, arguments)
        assert result.output.startswith("Usage: cli ") and "Commands:" in result.output and "error" not in result.output
