"""The hub's settings: the one place that reads the environment (``HIE_*`` variables)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
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
    start_processor: bool = True
    mart_url: str = ""  # "" = chDB in DATA/mart; or chdb:///path, clickhouse://host:port/db[?cluster=…]
    etl_interval_s: float = 0.0  # > 0: this process owns the mart and runs the ETL on that interval
    mart_owner: bool = False  # True: another process (hie mart-owner) owns the embedded mart; ask it
    pseudonym_key_hex: str = ""  # "" = DATA/mart-pseudonym.key (created on first use)
    token_max_days: int = 365  # the longest a bearer token may live (hie tokens issue --days)
    extra: dict = field(default_factory=dict)

    @property
    def pki(self) -> Path:
        return self.pki_dir or self.data_dir / "pki"

    @property
    def mart_location(self) -> str:
        return self.mart_url or f"chdb://{(self.data_dir / 'mart').as_posix()}"

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
            start_processor=env.get("HIE_START_PROCESSOR", "1") not in ("0", "false", "no"),
            mart_url=env.get("HIE_MART_URL", ""),
            etl_interval_s=float(env.get("HIE_ETL_INTERVAL", 0) or 0),
            mart_owner=env.get("HIE_MART_OWNER", "0") not in ("0", "false", "no", ""),
            pseudonym_key_hex=env.get("HIE_PSEUDONYM_KEY", ""),
            token_max_days=int(env.get("HIE_TOKEN_MAX_DAYS", 365)),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


__all__ = ["Settings"]
