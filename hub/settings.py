"""The hub's settings: the one place that reads the environment (``HIE_*`` variables)."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from protocol.limits import MAX_BATCH_DOCUMENTS

from .store.db import sqlite_url


@dataclass(frozen=True)
class Settings:
    """Where the hub keeps its data and how strict its limits are."""

    data_dir: Path
    database_url: str = ""
    pki_dir: Path | None = None
    max_message_bytes: int = 10 * 1024 * 1024
    max_batch_documents: int = MAX_BATCH_DOCUMENTS
    max_fetch_replies: int = 100
    processing_interval_s: float = 0.5
    # PostgreSQL: a processor's chunk transaction idle this long (its process paused) is cut off and rolled
    # back, releasing the locks the other processors wait for (hub.pipeline; docs/records.md)
    processing_tx_timeout_s: float = 60.0
    start_processor: bool = True
    workflow_interval_s: float = 2.0  # the workflows' runner: at most one pass this often (hub.workflows)
    # changes younger than this wait for a later pass; None: the database's default (0 on SQLite, whose
    # commits are serialized; 2 s on PostgreSQL, the clock skew allowed between nodes: hub.workflows.runner)
    workflow_settle_s: float | None = None
    crl_poll_s: float = 10.0  # each web process takes up a newer CRL published in the database this often
    lease_ttl_s: float = 30.0  # a dead holder's lease (ETL, workflows' runner) is taken over after this long
    mart_url: str = ""  # "" = chDB in DATA/mart; or chdb:///path, clickhouse://host:port/db[?cluster=…]
    etl_interval_s: float = 0.0  # > 0: this process owns the mart and runs the ETL on that interval
    mart_owner: bool = False  # True: another process (hie mart-owner) owns the embedded mart; ask it
    pseudonym_key_hex: str = ""  # "" = DATA/mart-pseudonym.key (created on first use)
    token_max_days: int = 365  # the longest a bearer token may live (hie tokens issue --days)
    # operations (/healthz, /metrics, hie serve's supervisor; docs/operations.md)
    processor_expected: bool | None = None  # None: when this process starts one (hie serve says so for its child)
    processor_stale_s: float = 15.0  # a processor heartbeat older than this: the processor is down
    processor_hung_s: float = 120.0  # silent this long: hie serve kills it (and restarts it); 0: never
    backlog_warn_s: float = 300.0  # oldest message awaiting processing older than this: degraded
    min_free_disk_mb: int = 512  # less free space than this in the data directory: the disk is down
    health_timeout_s: float = 2.0  # how long /healthz waits for the database
    restart_backoff_s: float = 1.0  # first delay before restarting a child that died (doubles each time)
    restart_backoff_max_s: float = 30.0
    console_session_minutes: float = 480.0  # a console sign-in lasts this long (docs/console.md)
    # console sign-in throttle (docs/console.md, Throttling): failures counted over a sliding window
    console_login_window_minutes: float = 15.0
    console_login_failures_per_name: int = 5  # failures for one user name (from anywhere), then refused
    console_login_failures_per_address: int = 20  # failures from one client address (any names), then refused
    console_login_delay_s: float = 1.0  # each earlier failure in the window delays the next attempt this much
    console_login_delay_max_s: float = 4.0
    # HIE_REFERRAL_DEADLINES: state → how long a referral case may wait there (overrides the defaults of
    # hub.workflows.referral.overdue; a state not named keeps its default)
    referral_deadlines: Mapping[str, timedelta] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def pki(self) -> Path:
        return self.pki_dir or self.data_dir / "pki"

    @property
    def mart_location(self) -> str:
        return self.mart_url or f"chdb://{(self.data_dir / 'mart').as_posix()}"

    @property
    def processor_heartbeat(self) -> Path:
        return self.data_dir / "run" / "processor.json"

    @property
    def expects_processor(self) -> bool:
        return self.start_processor if self.processor_expected is None else self.processor_expected

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir / "hub.db")

    @classmethod
    def load(cls, data_dir: str | Path | None = None, **overrides) -> "Settings":
        """Settings from ``HIE_*`` environment variables, then explicit overrides."""
        env = os.environ
        settings = cls(
            data_dir=Path(data_dir or env.get("HIE_DATA_DIR", "data")).resolve(),
            database_url=env.get("HIE_DATABASE_URL", ""),
            pki_dir=Path(env["HIE_PKI_DIR"]).resolve() if env.get("HIE_PKI_DIR") else None,
            max_message_bytes=int(env.get("HIE_MAX_MESSAGE_BYTES", 10 * 1024 * 1024)),
            max_batch_documents=int(env.get("HIE_MAX_BATCH_DOCUMENTS", MAX_BATCH_DOCUMENTS)),
            # hie serve runs the processor as its own process and tells its web workers so
            start_processor=_flag(env.get("HIE_START_PROCESSOR", "1")),
            processing_tx_timeout_s=_seconds(env, "HIE_PROCESSING_TX_TIMEOUT_S", 60.0),
            workflow_interval_s=float(env.get("HIE_WORKFLOW_INTERVAL", 2.0)),
            workflow_settle_s=float(env["HIE_WORKFLOW_SETTLE"]) if env.get("HIE_WORKFLOW_SETTLE") else None,
            lease_ttl_s=_seconds(env, "HIE_LEASE_TTL_S", 30.0),
            crl_poll_s=_seconds(env, "HIE_CRL_POLL_S", 10.0),
            mart_url=env.get("HIE_MART_URL", ""),
            etl_interval_s=float(env.get("HIE_ETL_INTERVAL", 0) or 0),
            mart_owner=env.get("HIE_MART_OWNER", "0") not in ("0", "false", "no", ""),
            pseudonym_key_hex=env.get("HIE_PSEUDONYM_KEY", ""),
            token_max_days=int(env.get("HIE_TOKEN_MAX_DAYS", 365)),
            processor_expected=_flag(env["HIE_PROCESSOR_EXPECTED"]) if env.get("HIE_PROCESSOR_EXPECTED") else None,
            processor_stale_s=float(env.get("HIE_PROCESSOR_STALE_S", 15.0)),
            processor_hung_s=float(env.get("HIE_PROCESSOR_HUNG_S", 120.0)),
            backlog_warn_s=float(env.get("HIE_BACKLOG_WARN_S", 300.0)),
            min_free_disk_mb=int(env.get("HIE_MIN_FREE_DISK_MB", 512)),
            health_timeout_s=float(env.get("HIE_HEALTH_TIMEOUT_S", 2.0)),
            restart_backoff_s=float(env.get("HIE_RESTART_BACKOFF_S", 1.0)),
            restart_backoff_max_s=float(env.get("HIE_RESTART_BACKOFF_MAX_S", 30.0)),
            console_session_minutes=float(env.get("HIE_CONSOLE_SESSION_MINUTES", 480.0)),
            console_login_window_minutes=float(env.get("HIE_CONSOLE_LOGIN_WINDOW_MINUTES", 15.0)),
            console_login_failures_per_name=int(env.get("HIE_CONSOLE_LOGIN_FAILURES_PER_NAME", 5)),
            console_login_failures_per_address=int(env.get("HIE_CONSOLE_LOGIN_FAILURES_PER_ADDRESS", 20)),
            console_login_delay_s=float(env.get("HIE_CONSOLE_LOGIN_DELAY_S", 1.0)),
            console_login_delay_max_s=float(env.get("HIE_CONSOLE_LOGIN_DELAY_MAX_S", 4.0)),
            referral_deadlines=referral_deadlines(env.get("HIE_REFERRAL_DEADLINES", "")),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def _seconds(env: Mapping[str, str], variable: str, default: float) -> float:
    """A positive number of seconds from ``variable`` (``default`` when unset)."""
    try:
        value = float(env.get(variable) or default)
    except ValueError:
        raise SettingsError(variable, "expected a number of seconds") from None
    if not value > 0:
        raise SettingsError(variable, "must be more than zero seconds")
    return value


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no")


class SettingsError(ValueError):
    """A ``HIE_*`` variable the hub cannot work with: refused when the hub (or a command) starts."""

    code = "settings.invalid"

    def __init__(self, variable: str, detail: str):
        super().__init__(f"{self.code}: {variable}: {detail}")
        self.variable = variable
        self.detail = f"{variable}: {detail}"


_DURATION = re.compile(r"([+-]?[0-9]{1,6})([hd])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1)}


def referral_deadlines(text: str, *, variable: str = "HIE_REFERRAL_DEADLINES") -> dict[str, timedelta]:
    """``requested=48h,accepted=7d`` → {state: deadline}; a state of ``ReferralState`` whose step is someone's
    turn, each once, a positive whole number of hours (h) or days (d). ``""``: no overrides."""
    found: dict[str, timedelta] = {}
    if not text.strip():
        return found
    from .workflows.referral.states import turn_of  # the state table says which states wait for a party

    for item in text.split(","):
        state, sep, duration = (part.strip() for part in item.partition("="))
        if not sep or not state:
            raise SettingsError(variable, "expected state=duration items separated by commas "
                                          "(e.g. requested=48h,discharged=14d)")
        try:
            waits = turn_of(state) is not None
        except ValueError:
            raise SettingsError(variable, f"unknown referral state {state!r}") from None
        if not waits:
            raise SettingsError(variable, f"the state {state!r} waits for no party: it has no deadline")
        if state in found:
            raise SettingsError(variable, f"the state {state!r} is named twice")
        match = _DURATION.fullmatch(duration)
        if match is None:
            raise SettingsError(variable, f"the deadline of {state!r} is not a whole number of hours (h) or days (d)")
        if int(match.group(1)) <= 0:
            raise SettingsError(variable, f"the deadline of {state!r} must be longer than zero")
        found[state] = int(match.group(1)) * _UNITS[match.group(2)]
    return found


__all__ = ["Settings", "SettingsError", "referral_deadlines"]
