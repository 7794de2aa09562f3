"""What ``hie serve`` checks before it says it is serving, and the children it supervises.

Each start-up check fails with one line (a machine code, then what to do) and a non-zero exit,
never a traceback: the PKI, the address to listen on, the database.
"""
from __future__ import annotations

import logging
import socket
import sys

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from certs import CertsError, PkiPaths
from protocol.errors import HubError

from ..runtime import Hub
from ..settings import Settings
from ..store.db import make_engine
from ..supervisor import Backoff, ChildSpec


def check_pki(settings: Settings) -> None:
    if not PkiPaths.of(settings.pki).ca_cert.exists():
        raise click.ClickException(f"pki.missing: no PKI at {settings.pki} "
                                   f"(create it: hie pki init --dir {settings.pki})")


def check_address(host: str, port: int) -> None:
    """The address is free to listen on (uvicorn binds it the same way, a moment later)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise click.ClickException(f"server.address.invalid: cannot listen on {host} ({error.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise click.ClickException(f"server.address.in_use: cannot listen on {host}:{port} "
                                       f"({error.strerror}); choose another --port or stop what holds it") from None


def _where(url: str) -> str:
    """The database's address for a message, without credentials."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or "sqlite"
    return f"{parsed.host or 'localhost'}:{parsed.port or ''}/{parsed.database or ''}"


def check_database(settings: Settings, *, timeout_s: int = 5) -> None:
    """The database answers within ``timeout_s`` (PostgreSQL) or can be opened (SQLite)."""
    url = settings.db_url
    if url.startswith("sqlite") and not settings.data_dir.is_dir():
        raise click.ClickException(f"server.unavailable: no data directory at {settings.data_dir}")
    kwargs = {} if url.startswith("sqlite") else {"connect_args": {"connect_timeout": timeout_s}}
    try:
        engine = make_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise click.ClickException(f"server.unavailable: database URL not usable ({type(error).__name__})") from None
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as error:
        reason = type(getattr(error, "orig", None) or error).__name__
        raise click.ClickException(f"server.unavailable: database at {_where(url)} unreachable ({reason}); "
                                   "check --database-url and that the server runs") from None
    finally:
        engine.dispose()


def open_hub(settings: Settings) -> Hub:
    """Migrate and load the keys once, before the workers start; one line when that fails."""
    try:
        return Hub.open(settings)
    except (HubError, CertsError) as error:
        raise click.ClickException(f"{error.code}: {error.detail or error.message}") from None
    except SQLAlchemyError as error:
        raise click.ClickException(f"server.unavailable: database at {_where(settings.db_url)} not migrated "
                                   f"({type(error).__name__})") from None
    except (OSError, ValueError) as error:  # a key or certificate file missing or unreadable
        raise click.ClickException(f"pki.file.invalid: the hub's keys in {settings.pki} cannot be loaded "
                                   f"({type(error).__name__})") from None


def publish_crl(hub: Hub, settings: Settings) -> None:
    """This node's CRL into the database when it is newer than the newest published (hub.pki_sync)."""
    from ..pki_sync import publish

    number = publish(hub.sessions, settings.pki)
    if number is not None:
        click.echo(f"CRL {number} published for the other nodes", err=True)


def processor_spec(settings: Settings, env: dict[str, str]) -> ChildSpec:
    """The background processor, as its own process at a lower CPU priority."""
    return ChildSpec(name="processor", env=env, heartbeat=settings.processor_heartbeat,
                     silent_after_s=settings.processor_hung_s,
                     argv=(sys.executable, "-m", "hub.cli.main", "process", "--data-dir", str(settings.data_dir),
                           "--nice", "10", "--exit-with-parent"))


def mart_owner_spec(argv: list[str], env: dict[str, str]) -> ChildSpec:
    """The embedded mart's owner process (``hie mart-owner``: chDB belongs to one process)."""
    return ChildSpec(name="mart-owner", argv=tuple(argv), env=env)


def backoff(settings: Settings) -> Backoff:
    return Backoff(initial_s=settings.restart_backoff_s, cap_s=max(settings.restart_backoff_max_s,
                                                                   settings.restart_backoff_s))


def stop_when_orphaned(poll_s: float = 1.0) -> None:
    """A daemon thread that sends this process SIGTERM (uvicorn's graceful stop, then the supervisor's)
    once the process that started it is gone."""
    import os
    import signal
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(poll_s)
        logging.getLogger("hie.serve").warning("the process that started this hub is gone: stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="hie-orphan-watch", daemon=True).start()


def log_supervision() -> None:
    """The supervisor's lines (a child died, when it restarts) on stderr, with the time."""
    logger = logging.getLogger("hie.supervisor")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


__all__ = ["check_pki", "check_address", "check_database", "open_hub", "publish_crl", "processor_spec", "mart_owner_spec", "backoff",
           "stop_when_orphaned",
           "log_supervision"]
