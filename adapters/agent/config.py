"""The agent's one TOML file: who the clinic is, where the hub is, what to collect and where replies go.

Read once with ``tomllib`` into frozen dataclasses; relative paths are resolved against the
file's own folder, so a clinic can move the whole agent folder without editing it. Every setting
is checked here, when the file is read: a value that would only misbehave later (a batch of 0
that sends nothing, a hub address that is retried forever, a missing key file) stops the agent at
start with one line naming the setting and the file. A batch size above the hub's limit is
lowered to it, with a notice, instead.
"""
from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from protocol.limits import MAX_BATCH_DOCUMENTS

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
    notices: tuple[str, ...] = ()  # settings adjusted when read (a batch size lowered to the hub's limit)

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "outbox.db"


_TOP_LEVEL = frozenset({"member", "organization", "member_name", "organization_name", "hub_url", "state_dir",
                        "certificates", "schedule", "push", "warnings", "sources", "replies"})
_REQUIRED_CERTIFICATES = ("cert", "key", "hub_cert", "ca_cert")
_REPLY_SETTINGS = frozenset({"kinds", "folder", "database", "table", "columns", "key"})


@dataclass(frozen=True)
class _Number:
    """What a numeric setting may hold: at least ``low`` (``low`` itself only if ``inclusive``); a value
    above ``high`` is not refused but lowered to it."""

    low: float
    inclusive: bool
    whole: bool = False
    unit: str = "seconds"
    high: int | None = None

    def problem(self, value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, without quotes, not {value!r}"
        if (self.whole and not isinstance(value, int)) or not math.isfinite(value) or value < self.low or (
                value == self.low and not self.inclusive):
            if self.high is not None:
                return f"must be between {self.low:g} and {self.high}, not {value}"
            bound = f"{self.low:g} or more" if self.inclusive else f"more than {self.low:g}"
            return f"must be {'a whole number, ' if self.whole else ''}{bound} {self.unit}, not {value}"
        return None


_SECONDS = _Number(0, inclusive=False)
_NUMBERS: dict[str, dict[str, _Number]] = {
    "schedule": {"collect": _SECONDS, "push": _SECONDS, "replies": _SECONDS},
    "push": {"batch_size": _Number(1, inclusive=True, whole=True, unit="documents", high=MAX_BATCH_DOCUMENTS),
             "timeout": _SECONDS, "backoff_initial": _SECONDS, "backoff_max": _SECONDS},
    "warnings": {"certificate_days": _Number(0, inclusive=True, whole=True, unit="days"),
                 "clock_skew_seconds": _SECONDS},
    "sources": {"settle_seconds": _Number(0, inclusive=True),
                "max_file_bytes": _Number(1, inclusive=True, whole=True, unit="bytes"),
                "batch_size": _Number(1, inclusive=True, whole=True, unit="rows")},
}


class _Reader:
    """Checks one agent.toml; every error names the setting and the file (as the user named it)."""

    def __init__(self, path: Path, shown: str):
        self.base, self.shown = path.parent, shown
        self.notices: list[str] = []

    def fail(self, setting: str, problem: str) -> ConfigError:
        return ConfigError(f"{' '.join(filter(None, (setting, problem)))} ({self.shown})")

    def resolve(self, value: str | None) -> Path | None:
        return (self.base / value).resolve() if value else None

    def text(self, section: Mapping, key: str, setting: str, *, default: str | None = None) -> str:
        value = section.get(key, default)
        if value is None:
            raise self.fail(setting, "is missing")
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(setting, f"must be text in quotes, not {value!r}")
        return value

    def number(self, group: str, section: Mapping, key: str, setting: str, default):
        value = section.get(key, default)
        rule = _NUMBERS[group][key]
        problem = rule.problem(value)
        if problem:
            raise self.fail(setting, problem)
        if rule.high is not None and value > rule.high:  # the hub's limit: more is refused by the hub
            self.notices.append(f"{setting} {value} is above the hub's limit of {rule.high} {rule.unit} per "
                                f"request: {rule.high} is used ({self.shown})")
            return rule.high
        return value

    def table(self, raw: Mapping, name: str) -> dict:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{name}]", "must be a table")
        return value

    def array(self, raw: Mapping, name: str) -> list[dict]:
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(section, dict) for section in value):
            raise self.fail(f"[[{name}]]", f"must be written with double brackets, one [[{name}]] per entry")
        return value

    def settings(self, cls, raw: Mapping, name: str):
        section = self.table(raw, name)
        unknown = sorted(set(section) - set(cls.__dataclass_fields__))
        if unknown:
            raise self.fail(f"[{name}]:", f"unknown setting(s) {', '.join(unknown)}")
        values = {key: self.number(name, section, key, f"[{name}] {key}", spec.default)
                  for key, spec in cls.__dataclass_fields__.items()}
        return cls(**values)

    def hub_url(self, raw: Mapping) -> str:
        value = self.text(raw, "hub_url", "hub_url")
        parts = urlsplit(value.strip())
        try:
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:  # a port that is not a number
            valid = False
        if not valid or any(c.isspace() for c in value.strip()):
            raise self.fail("hub_url", f"must be an http:// or https:// address with a host name "
                                       f"(like https://hub.example/soap/exchange), not {value!r}")
        return value.strip()

    def certificates(self, raw: Mapping) -> Certificates:
        section = self.table(raw, "certificates")
        unknown = sorted(set(section) - {*_REQUIRED_CERTIFICATES, "crl"})
        if unknown:
            raise self.fail("[certificates]:", f"unknown setting(s) {', '.join(unknown)}")
        paths = {}
        for name in (*_REQUIRED_CERTIFICATES, "crl"):
            if name == "crl" and "crl" not in section:
                continue
            path = self.resolve(self.text(section, name, f"[certificates] {name}"))
            if not path.is_file():
                raise self.fail(f"[certificates] {name}:", f"no file {path}")
            if not os.access(path, os.R_OK):
                raise self.fail(f"[certificates] {name}:", f"cannot read {path}")
            paths[name] = path
        return Certificates(**paths)


def load(path: str | Path) -> AgentConfig:
    """Read and check the agent's TOML file."""
    shown = str(path)
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
    reader = _Reader(path, shown)
    unknown = sorted(set(raw) - _TOP_LEVEL)
    if unknown:
        raise reader.fail("", f"unknown setting(s) {', '.join(unknown)}")
    # "organization" / "organization_name": what agent.toml files written before "member" say
    member = reader.text(raw, "member" if "member" in raw or "organization" not in raw else "organization", "member")
    member_name = reader.text(raw, "member_name" if "member_name" in raw else "organization_name", "member_name",
                              default="")
    hub_url = reader.hub_url(raw)
    certificates = reader.certificates(raw)
    state_dir = reader.resolve(reader.text(raw, "state_dir", "state_dir", default="state") or "state")
    schedule = reader.settings(Schedule, raw, "schedule")
    push = reader.settings(PushPolicy, raw, "push")
    if push.backoff_max < push.backoff_initial:
        raise reader.fail("[push] backoff_max", f"must not be less than backoff_initial ({push.backoff_initial})")
    warnings = reader.settings(Warnings, raw, "warnings")
    sources = tuple(_source(reader, section) for section in reader.array(raw, "sources"))
    if len({s.name for s in sources}) != len(sources):
        raise reader.fail("[[sources]] name", "must be unique")
    replies = tuple(_target(reader, section) for section in reader.array(raw, "replies"))
    return AgentConfig(path=path, member=member, hub_url=hub_url, member_name=member_name, state_dir=state_dir,
                       certificates=certificates, schedule=schedule, push=push, warnings=warnings, sources=sources,
                       replies=replies, notices=tuple(reader.notices))


def _source(reader: _Reader, section: dict) -> SourceConfig:
    name = reader.text(section, "name", "[[sources]] name")
    setting = f"source {name!r}:"
    kind = reader.text(section, "kind", f"{setting} kind")
    from ..sources import SOURCES, load_all

    load_all()
    if kind not in SOURCES:
        raise reader.fail(f"{setting} kind", f"{kind!r} is unknown; known: {', '.join(sorted(SOURCES))}")
    folder = reader.resolve(reader.text(section, "folder", f"{setting} folder", default=""))
    database = reader.text(section, "database", f"{setting} database", default="")
    if (folder is None) == (not database):
        raise reader.fail(setting, "give either folder or database")
    after = section.get("after", "move")
    if after not in ("move", "keep"):
        raise reader.fail(f"{setting} after", f"must be 'move' or 'keep', not {after!r}")
    done = reader.resolve(reader.text(section, "done_folder", f"{setting} done_folder", default="")) or (
        folder / "sent" if folder else None)
    pattern = reader.text(section, "pattern", f"{setting} pattern", default="*")
    if not pattern.strip():
        raise reader.fail(f"{setting} pattern", "must not be empty")
    settle = reader.number("sources", section, "settle_seconds", f"{setting} settle_seconds", 10.0)
    largest = reader.number("sources", section, "max_file_bytes", f"{setting} max_file_bytes", 10 * 1024 * 1024)
    if "batch_size" in section:  # the database adapter's rows per run: 0 would read nothing, forever
        reader.number("sources", section, "batch_size", f"{setting} batch_size", None)
    return SourceConfig(name=name, kind=kind, folder=folder, pattern=pattern, after=after, done_folder=done,
                        database=database, settle_seconds=float(settle), max_file_bytes=largest,
                        options=dict(section))


def _target(reader: _Reader, section: dict) -> ReplyTarget:
    kinds = section.get("kinds", ())
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise reader.fail("[[replies]] kinds", 'must be a list of reply kinds, like kinds = ["ack"] or ["*"]')
    kinds = tuple(kinds)
    setting = f"replies for {kinds}:"
    unknown = sorted(set(section) - _REPLY_SETTINGS)
    if unknown:
        raise reader.fail(setting, f"unknown setting(s) {', '.join(unknown)}")
    folder = reader.resolve(reader.text(section, "folder", f"{setting} folder", default=""))
    database = reader.text(section, "database", f"{setting} database", default="")
    if (folder is None) == (not database):
        raise reader.fail(setting, "give either folder or database")
    columns = section.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise reader.fail(f"{setting} columns", 'must be a table of column = "reply field"')
    table = reader.text(section, "table", f"{setting} table", default="")
    if database and (not table or not columns):
        raise reader.fail(setting, "a database target needs table and columns")
    key = reader.text(section, "key", f"{setting} key", default="") or next(
        (col for col, src in columns.items() if src == "reply_id"), "")
    if database and not key:
        raise reader.fail(setting, "map a column to reply_id (or name it in key)")
    return ReplyTarget(kinds=kinds, folder=folder, database=database, table=table, columns=dict(columns), key=key)


__all__ = ["AgentConfig", "Certificates", "ConfigError", "PushPolicy", "ReplyTarget", "Schedule", "SourceConfig",
           "Warnings", "load"]
