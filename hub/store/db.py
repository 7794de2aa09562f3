"""Engines for the OLTP store (SQLite by default, PostgreSQL by URL), write transactions, migrations.

What only SQLite needs (WAL set-up, the write lock, the log's syncer and checkpointer) is in ``sqlite``.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .sqlite import commit_without_fsync, configure

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, synchronous=FULL (durable commits) and a busy timeout.

    SQL parameters are hidden from error messages: they hold documents and patient data, and
    error messages end up in logs.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        configure(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    engine.hie_write_lock = None  # PostgreSQL queues writers itself
    return engine


@contextmanager
def transaction(sessions: sessionmaker[Session], *, durable: bool = True):
    """A write transaction: one writer at a time on SQLite, committed on exit (rolled back on error).

    ``durable=False`` is for work that may be redone: its commit does not wait for the disk
    (SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``). A power loss can then
    roll back whole such transactions, never corrupt or split one; and the next durable commit
    makes everything before it durable too, so nothing another request has seen can be lost.
    """
    lock = getattr(sessions.kw["bind"], "hie_write_lock", None)
    with lock or nullcontext(), sessions() as session, session.begin():
        if not durable:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                commit_without_fsync(connection.connection.driver_connection, connection.info)
            else:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield session


def session_factory(engine: Engine, *, settings=None) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``settings`` (the hub's ``Settings``) is each session's ``info["settings"]``."""
    return sessionmaker(engine, expire_on_commit=False, info={"settings": settings} if settings is not None else None)


def _alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (alembic)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


__all__ = ["transaction", "make_engine", "session_factory", "migrate", "downgrade", "sqlite_url"]
