"""The agent's one TOML file: who the clinic is, where the hub is, what to collect and where replies go.

Read once with ``tomllib`` into frozen dataclasses; relative paths are resolved against the
file's own folder, so a clinic can move the whole agent folder without editing it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import AdapterError


class ConfigError(AdapterError):
    """The agent configuration is missing, unreadable or incomplete."""

    code = "agent.config.invalid"


@dataclass(frozen=True)
class Certificates:
    cert: Path
    key: Path
    hub_cert: Path
    ca_cert: Path
    crl: Path | None = None


@dataclass(frozen=True)
class Schedule:
    """Seconds between runs of each job under ``hie-agent run``."""

    collect: float = 60.0
    push: float = 30.0
    replies: float = 120.0


@dataclass(frozen=True)
class PushPolicy:
    batch_size: int = 100
    timeout: float = 30.0
    backoff_initial: float = 5.0  # first wait after a transient failure, doubled each time
    backoff_max: float = 3600.0  # a hub outage of days only ever waits this long between tries


@dataclass(frozen=True)
class Warnings:
    certificate_days: int = 30
    clock_skew_seconds: float = 60.0  # the hub refuses beyond 2 minutes ahead: warn well before


@dataclass(frozen=True)
class SourceConfig:
    """One source: a folder of files (``folder``) or a clinic database (``database``)."""

    name: str
    kind: str  # the adapter kind in adapters.sources (canonical, hl7v2, cda, csv, database, ...)
    folder: Path | None = None
    pattern: str = "*"
    after: str = "move"  # "move" into done_folder, or "keep" (remembered as collected, left in place)
    done_folder: Path | None = None
    database: str = ""  # SQLAlchemy URL of the clinic database
    settle_seconds: float = 10.0  # a file changed more recently may still be being written: next run
    max_file_bytes: int = 10 * 1024 * 1024  # larger files are quarantined unread (the hub's message limit)
    options: Mapping[str, Any] = field(default_factory=dict)  # the whole section, for the adapter


@dataclass(frozen=True)
class ReplyTarget:
    """Where replies of some kinds are written: files in ``folder``, or rows in ``database``.``table``."""

    kinds: tuple[str, ...]
    folder: Path | None = None
    database: str = ""
    table: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)  # target column -> reply field
    key: str = ""  # the column holding the reply id: a reply fetched again is not inserted twice


@dataclass(frozen=True)
class AgentConfig:
    path: Path
    member: str
    hub_url: str
    state_dir: Path
    certificates: Certificates
    member_name: str = ""
    schedule: Schedule = Schedule()
    push: PushPolicy = PushPolicy()
    warnings: Warnings = Warnings()
    sources: tuple[SourceConfig, ...] = ()
    replies: tuple[ReplyTarget, ...] = ()

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "outbox.db"


def load(path: str | Path) -> AgentConfig:
    """Read and check the agent's TOML file."""
    path = Path(path).resolve()
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"no {path}: create one with `hie-agent init -c {path}`") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    base = path.parent

    def resolve(value: str | None) -> Path | None:
        return (base / value).resolve() if value else None

    certs = _table(raw, "certificates")
    try:
        certificates = Certificates(cert=resolve(certs["cert"]), key=resolve(certs["key"]),
                                    hub_cert=resolve(certs["hub_cert"]), ca_cert=resolve(certs["ca_cert"]),
                                    crl=resolve(certs.get("crl")))
        # "organization" / "organization_name": what agent.toml files written before "member" say
        member = str(raw["member"] if "member" in raw or "organization" not in raw else raw["organization"])
        hub_url = str(raw["hub_url"])
    except KeyError as exc:
        raise ConfigError(f"{path}: missing setting {exc.args[0]!r}") from None
    sources = tuple(_source(section, resolve) for section in _array(raw, "sources"))
    if len({s.name for s in sources}) != len(sources):
        raise ConfigError(f"{path}: source names must be unique")
    return AgentConfig(
        path=path, member=member, hub_url=hub_url,
        member_name=raw.get("member_name", raw.get("organization_name", "")),
        state_dir=resolve(raw.get("state_dir", "state")), certificates=certificates,
        schedule=_settings(Schedule, raw, "schedule"), push=_settings(PushPolicy, raw, "push"),
        warnings=_settings(Warnings, raw, "warnings"), sources=sources,
        replies=tuple(_target(section, resolve) for section in _array(raw, "replies")))


def _table(raw: dict, name: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _array(raw: dict, name: str) -> list[dict]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(section, dict) for section in value):
        raise ConfigError(f"[[{name}]] must be written with double brackets, one [[{name}]] per entry")
    return value


def _settings(cls, raw: dict, name: str):
    section = _table(raw, name)
    unknown = sorted(set(section) - set(cls.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"[{name}]: unknown setting(s) {', '.join(unknown)}")
    for key, value in section.items():  # every setting here is a number: "100" would fail much later
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"[{name}] {key} must be a number, without quotes")
    return cls(**section)


def _source(section: dict, resolve) -> SourceConfig:
    try:
        name, kind = section["name"], section["kind"]
    except KeyError as exc:
        raise ConfigError(f"a [[sources]] entry is missing {exc.args[0]!r}") from None
    from ..sources import SOURCES, load_all

    load_all()
    if kind not in SOURCES:
        raise ConfigError(f"source {name!r}: unknown kind {kind!r}; known: {', '.join(sorted(SOURCES))}")
    folder = resolve(section.get("folder"))
    if (folder is None) == (not section.get("database")):
        raise ConfigError(f"source {name!r}: give either folder or database")
    after = section.get("after", "move")
    if after not in ("move", "keep"):
        raise ConfigError(f"source {name!r}: after must be 'move' or 'keep'")
    done = resolve(section.get("done_folder")) or (folder / "sent" if folder else None)
    settle = section.get("settle_seconds", 10.0)
    if isinstance(settle, bool) or not isinstance(settle, (int, float)) or settle < 0:
        raise ConfigError(f"source {name!r}: settle_seconds must be a number of seconds")
    largest = section.get("max_file_bytes", 10 * 1024 * 1024)
    if isinstance(largest, bool) or not isinstance(largest, int) or largest <= 0:
        raise ConfigError(f"source {name!r}: max_file_bytes must be a positive number of bytes")
    return SourceConfig(name=name, kind=kind, folder=folder, pattern=section.get("pattern", "*"), after=after,
                        done_folder=done, database=section.get("database", ""), settle_seconds=float(settle),
                        max_file_bytes=largest, options=dict(section))


def _target(section: dict, resolve) -> ReplyTarget:
    kinds = tuple(section.get("kinds", ()))
    if not kinds:
        raise ConfigError("a [[replies]] entry needs kinds = [...]")
    folder = resolve(section.get("folder"))
    if (folder is None) == (not section.get("database")):
        raise ConfigError(f"replies for {kinds}: give either folder or database")
    columns = dict(section.get("columns", {}))
    if section.get("database") and (not section.get("table") or not columns):
        raise ConfigError(f"replies for {kinds}: a database target needs table and columns")
    key = section.get("key") or next((col for col, src in columns.items() if src == "reply_id"), "")
    if section.get("database") and not key:
        raise ConfigError(f"replies for {kinds}: map a column to reply_id (or name it in key)")
    return ReplyTarget(kinds=kinds, folder=folder, database=section.get("database", ""),
                       table=section.get("table", ""), columns=columns, key=key)


__all__ = ["AgentConfig", "Certificates", "ConfigError", "PushPolicy", "ReplyTarget", "Schedule", "SourceConfig",
           "Warnings", "load"]
