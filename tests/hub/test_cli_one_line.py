"""Every command of both command lines (``hie``, ``hie-agent``), found by walking click's tree so that a
new command is covered the day it is added, answers a mistake with one line and a non-zero exit:
``error: <code>: <detail>`` (or ``error: usage: …``), never a traceback, never click's three-line usage
block.

The mistakes, built from each command's own parameters:

- ``nothing``   no arguments at all (commands with a required parameter);
- ``garbage``   one typed parameter at a time given a value of the wrong kind: a word for a number,
                a choice or a date, a file where a directory is expected and the other way round,
                a missing file where one must exist;
- ``huge``      every number as 2**70 (no row id is that large; the database driver overflows);
- ``missing``   every path a directory or file that does not exist (a mistyped data directory);
- ``empty``     every directory path an empty directory (no hub there).
"""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from adapters.agent.cli import main as agent_main
from hub.cli.main import main as hub_main

CLIS = {"hie": hub_main, "hie-agent": agent_main}
LONG_RUNNING = {  # they would start a server or loop until stopped: only their argument errors are walked
    ("hie", "serve"): "starts a hub until stopped",
    ("hie", "process"): "runs the processor until stopped",
    ("hie", "demo"): "builds a PKI and starts a hub",
    ("hie", "mart-owner"): "owns the embedded mart until stopped",
    ("hie-agent", "run"): "runs the schedule until stopped",
}
CREATE_WHAT_IS_MISSING = {  # a missing or empty directory is where they are told to create things
    ("hie", "pki init"): "creates the PKI directory",
    ("hie-agent", "init"): "writes agent.toml and its folders",
    ("hie", "region generate"): "writes the synthetic region's files into OUT",
}
WRITERS_SET_UP_A_HUB = {  # a hand-run hub is set up with these in an empty data directory (docs/registry.md)
    ("hie", "registry add"), ("hie", "tokens issue"), ("hie", "tokens revoke"), ("hie", "grants issue"),
}
SCENARIOS = ("nothing", "garbage", "huge", "missing", "empty")


def _leaves(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = [(cli, " ".join(path), command) for cli, root in CLIS.items() for path, command in _leaves(root)]


def _flag(param: click.Parameter) -> str | None:
    return max(param.opts, key=len) if isinstance(param, click.Option) else None


def _number(kind) -> bool:
    return isinstance(kind, (click.types.IntParamType, click.types.FloatParamType))


def _value(param: click.Parameter, places, scenario: str) -> str:
    """A value for ``param`` in ``scenario`` (a plausible one where the scenario does not concern it)."""
    kind = param.type
    if isinstance(kind, click.Path):
        directory = not kind.file_okay
        base = places["missing"] if scenario == "missing" else places["empty"]
        if directory:
            return str(base if scenario in ("missing", "empty") else places["empty"])
        return str(base / f"{param.name}.file")
    if _number(kind):
        return str(2**70) if scenario == "huge" else "1"
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, click.DateTime):
        return "2026-01-01"
    return "NOSUCH01"


def _garbage(param: click.Parameter, places) -> str | None:
    """A value of the wrong kind for ``param``, or None when any text is a valid value."""
    kind = param.type
    if isinstance(kind, click.Path):
        if kind.exists:
            return str(places["missing"] / "nothing-here")
        if not kind.file_okay:
            return str(places["a_file"])
        if not kind.dir_okay:
            return str(places["empty"])
        return None
    if _number(kind) or isinstance(kind, (click.Choice, click.DateTime)):
        return "garbage"
    return None


def _arguments(command: click.Command, places, scenario: str, *, odd: click.Parameter | None = None):
    """Every required parameter (and every path, in the path scenarios) with a value; ``odd`` with garbage."""
    line = []
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.hidden or "--help" in param.opts):
            continue
        concerned = param is odd or param.required or (
            scenario in ("missing", "empty") and isinstance(param.type, click.Path)) or (
            scenario == "huge" and _number(param.type))
        if not concerned:
            continue
        value = _garbage(param, places) if param is odd else _value(param, places, scenario)
        line += [_flag(param), value] if _flag(param) else [value]
    return line


def _cases(cli: str, name: str, command: click.Command, places):
    """(scenario, arguments) of every mistake that applies to this command."""
    key = (cli, name)
    if any(param.required for param in command.params):
        yield "nothing", []
    for param in command.params:
        if _garbage(param, places) is not None and not getattr(param, "is_flag", False):
            yield f"garbage {param.name}", _arguments(command, places, "garbage", odd=param)
    if any(_number(param.type) for param in command.params) and key not in LONG_RUNNING:
        yield "huge", _arguments(command, places, "huge")
    if key in LONG_RUNNING or key in CREATE_WHAT_IS_MISSING:
        return
    if any(isinstance(param.type, click.Path) for param in command.params):
        yield "missing", _arguments(command, places, "missing")
        if key not in WRITERS_SET_UP_A_HUB:
            yield "empty", _arguments(command, places, "empty")


@pytest.fixture
def places(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # hie-agent's default agent.toml is looked for here: there is none
    for variable in ("HIE_AGENT_CONFIG", "HIE_MART_URL", "HIE_DATABASE_URL", "HIE_DATA_DIR", "HIE_DEBUG"):
        monkeypatch.delenv(variable, raising=False)
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not what any command wants\n")
    (tmp_path / "empty").mkdir()
    return {"missing": tmp_path / "missing" / "dir", "empty": tmp_path / "empty", "a_file": a_file}


def test_the_walk_sees_every_command():
    names = {(cli, name) for cli, name, _ in COMMANDS}
    assert {("hie", "messages"), ("hie", "etl run"), ("hie", "pki issue"), ("hie", "send"), ("hie", "lineage"),
            ("hie-agent", "push-now"), ("hie-agent", "quarantine retry")} <= names
    assert set(LONG_RUNNING) | set(CREATE_WHAT_IS_MISSING) | WRITERS_SET_UP_A_HUB <= names  # no stale exemption


@pytest.mark.parametrize("cli, name, command", COMMANDS, ids=[f"{cli} {name}" for cli, name, _ in COMMANDS])
def test_every_mistake_is_one_line_and_a_failure(cli, name, command, places):
    runner = CliRunner()
    cases = list(_cases(cli, name, command, places))
    assert cases, f"{cli} {name}: no mistake applies to it; add one"
    for scenario, arguments in cases:
        result = runner.invoke(CLIS[cli], [*name.split(), *arguments])
        said = f"{cli} {name} {' '.join(arguments)} ({scenario}):\n{result.output}"
        assert result.exit_code != 0, said
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit), said
        lines = result.output.strip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("error: "), said
        assert result.stdout == "", said  # the line is on stderr: stdout stays for what a command answers
        assert "internal:" not in lines[0], said  # every mistake here is foreseen: it has a code
