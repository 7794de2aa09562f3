"""``hie-agent``: the clinic agent's command line (init, run, status, push-now, collect, replies, quarantine,
findings)."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from protocol.cli import OneLineGroup

from ..errors import AdapterError
from .config import ConfigError, load
from .example import example_config
from .findings import LANGUAGES
from .runtime import Agent, JobBusy

DEFAULT_CONFIG = "agent.toml"
# -c is taken before the command (`hie-agent -c agent.toml push-now`, as init suggests) or after it.
config_option = click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                             default=None, help="The agent's TOML file (default: the one given before the command).")


def _config_path(config_path: Path | None) -> Path:
    return config_path or click.get_current_context().find_root().params["config_path"]


def _agent(config_path: Path | None) -> Agent:
    config = load(_config_path(config_path))
    for notice in config.notices:  # e.g. a batch size lowered to the hub's limit
        click.echo(f"warning: {notice}", err=True)
    return Agent(config)


class _AgentGroup(OneLineGroup):
    """Any failure of any command (a configuration problem, unusable certificates, a bug) ends in one
    line, never a traceback (``protocol.cli``); sub-groups are alike."""

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", _AgentGroup)
        return super().group(*args, **kwargs)


@click.group(cls=_AgentGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, envvar="HIE_AGENT_CONFIG", help="The agent's TOML file.")
@click.option("--verbose", "-v", is_flag=True, help="Log each job's outcome.")
def main(config_path: Path, verbose: bool) -> None:
    """区域卫生信息平台 clinic agent: collect records, send them to the hub, write the replies back.

    \b
      hie-agent init --member CLINIC01 --pki .demo/pki --hub http://127.0.0.1:8080/soap/exchange
      hie-agent status          # backlog, last success, last error, certificate expiry, warnings
      hie-agent push-now        # collect and send everything now, with a progress bar
      hie-agent run             # keep doing it on the schedule in agent.toml
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@config_option
@click.option("--member", "member", default="CLINIC01", show_default=True, help="Your institution code.")
@click.option("--pki", default=".demo/pki", show_default=True, help="Folder holding ca/, hub/ and members/.")
@click.option("--hub", "hub_url", default="http://127.0.0.1:8080/soap/exchange", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(config_path: Path | None, member: str, pki: str, hub_url: str, force: bool) -> None:
    """Write a commented example configuration (and the folders it names)."""
    config_path = _config_path(config_path)
    if config_path.exists() and not force:
        raise click.ClickException(f"{config_path} exists (use --force to overwrite)")
    # the config resolves paths against its own folder: write the PKI path relative to it
    pki_path = os.path.relpath(Path(pki).resolve(), config_path.parent.resolve())
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(example_config(member=member, hub_url=hub_url, pki=pki_path),
                           encoding="utf-8")
    for folder in ("outgoing", "replies"):
        (config_path.parent / folder).mkdir(exist_ok=True)
    click.echo(f"wrote {config_path}; put documents in {config_path.parent / 'outgoing'} and run "
               f"`hie-agent -c {config_path} push-now`")


@main.command()
@config_option
def run(config_path: Path | None) -> None:
    """Collect, push and fetch replies on the schedule, until stopped (Ctrl-C or SIGTERM)."""
    from .scheduler import run_forever

    agent = _agent(config_path)
    agent.client("push")  # unreadable certificates stop here, in one line, not in every job's log
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger().setLevel(logging.INFO)
    for warning in agent.status().warnings:
        click.echo(f"warning: {warning}", err=True)
    run_forever(agent)


@main.command()
@config_option
def status(config_path: Path | None) -> None:
    """Backlog, last success and error, certificate expiry, clock skew, quarantine."""
    state = _agent(config_path).status()
    click.echo("\n".join(state.lines()))
    sys.exit(1 if state.warnings else 0)


@main.command("push-now")
@config_option
@click.option("--collect/--no-collect", default=True, show_default=True, help="Collect the sources first.")
@click.option("--give-up-after", type=float, default=300.0, show_default=True,
              help="Seconds to keep retrying while the hub is unreachable.")
def push_now(config_path: Path | None, collect: bool, give_up_after: float) -> None:
    """Drain the backlog now, with a progress bar; end with the same outbox counts as `status`."""
    agent = _agent(config_path)
    if collect:
        settle = {source.name: source.settle_seconds for source in agent.config.sources}
        try:
            for result in agent.collect():
                parts = [f"collected {result.source}: {result.added} new item(s)"]
                if result.quarantined:  # named, so the clinic knows which file to fix (it stays in place)
                    parts.append(f"quarantined {', '.join(result.quarantined)}")
                if result.waiting:
                    parts.append(f"{result.waiting} file(s) waiting for settle_seconds={settle[result.source]:g}")
                click.echo("; ".join(parts + ([result.error] if result.error else [])))
        except JobBusy:
            click.echo("collection is running in `hie-agent run`; sending what is already collected")
    backlog = agent.status().backlog
    try:
        with click.progressbar(length=backlog, label="sending", show_pos=True) as bar:
            result = agent.push(drain_for=give_up_after, progress=bar.update, wait=True)
    except JobBusy:
        raise click.ClickException("another push is running on this outbox") from None
    click.echo(f"pushed in {result.requests} request(s): accepted {result.accepted}, rejected {result.quarantined}")
    click.echo(f"outbox now: {agent.status().tally.line()}")
    if result.halted:
        raise click.ClickException(f"stopped: {result.halted.code}; the backlog is kept and retried later")


@main.command("replies")
@config_option
def replies_now(config_path: Path | None) -> None:
    """Fetch replies now, write them to their targets and acknowledge them."""
    try:
        result = _agent(config_path).replies()
    except ConfigError:
        raise
    except AdapterError as error:
        raise click.ClickException(f"replies: {error.code}") from None
    click.echo(f"fetched {result.fetched}, written {result.written}, acknowledged {result.acknowledged}"
               + (f", left at the hub (no target) {result.unrouted}" if result.unrouted else "")
               + (f", failed targets: {', '.join(result.failed)}" if result.failed else ""))


def _locale_language() -> str:
    """``zh`` when the locale asks for Chinese (LC_ALL, LC_MESSAGES, LANG, in POSIX order), else ``en``."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@main.command("findings")
@config_option
@click.option("--limit", type=click.IntRange(1, None), default=1000, show_default=True,
              help="At most this many lines; a last line on stderr says how many more there are.")
@click.option("--code", default=None, help="Only this finding code (e.g. record.patient.birth_date.implausible).")
@click.option("--language", type=click.Choice(LANGUAGES), default=None,
              help="Language of the messages (default: zh under a Chinese locale, else en).")
def findings_list(config_path: Path | None, limit: int, code: str | None, language: str | None) -> None:
    """One line per finding on a document the hub kept: item, source, file (or row), document type, document id,
    version, code, field, message. Correct the record at the source: its next version clears them."""
    language = language or _locale_language()
    with _agent(config_path).outbox() as outbox:
        lines = outbox.findings(limit=limit, code=code)
        for line in lines:
            click.echo("\t".join(str(value) for value in (
                line.item_id, line.source, line.origin or "-", line.document_type, line.document_id or "-",
                line.version, line.code, line.field, line.message(language))))
        total = outbox.findings_count(code=code) if len(lines) == limit else len(lines)
    if total > len(lines):  # on stderr: the lines on stdout stay one finding each, for a script
        click.echo(f"... {total - len(lines)} more finding(s) not shown ({total} in all): "
                   f"hie-agent findings --limit {total}" + (f" --code {code}" if code else ""), err=True)


@main.group()
def quarantine() -> None:
    """Items the source or the hub refused."""


@quarantine.command("list")
@config_option
@click.option("--limit", type=click.IntRange(1, None), default=1000, show_default=True,
              help="At most this many lines; a last line on stderr says how many more there are.")
def quarantine_list(config_path: Path | None, limit: int) -> None:
    """One line per quarantined item: id, source, file, key, who refused it, code, field, reason."""
    with _agent(config_path).outbox() as outbox:
        items = outbox.quarantined(limit)
        for item in items:
            click.echo(f"{item.id}\t{item.source}\t{item.origin or '-'}\t{item.item_key}\t{item.quarantined_by}\t"
                       f"{item.code}\t{item.field}\t{item.reason}")
        total = sum(outbox.quarantine_counts().values()) if len(items) == limit else len(items)
    if total > len(items):
        click.echo(f"... {total - len(items)} more quarantined item(s) not shown ({total} in all): "
                   f"hie-agent quarantine list --limit {total}", err=True)


@quarantine.command("retry")
@config_option
@click.argument("item_ids", nargs=-1, type=click.IntRange(1, 2**63 - 1), required=True)
def quarantine_retry(config_path: Path | None, item_ids: tuple[int, ...]) -> None:
    """Send items again under a new MessageID, once the cause is fixed at the hub."""
    with _agent(config_path).outbox() as outbox:
        changed = outbox.retry(list(item_ids))
    click.echo(f"{changed} item(s) back in the backlog"
               + ("" if changed == len(item_ids) else " (items refused by their source must be fixed at the source)"))


__all__ = ["main"]


if __name__ == "__main__":
    main()
