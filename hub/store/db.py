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


class SchemaMismatch(Exception):
    """The database's schema is not the one this release's code is written for (one line, a code)."""

    def __init__(self, code: str, detail: str):
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}")


MIGRATION_LOCK = 0x6869_6500_0001  # pg_advisory_lock key: one migrator at a time on a shared PostgreSQL


@contextmanager
def _one_migrator(engine: Engine):
    """On PostgreSQL, hold the migration lock (several nodes started at once: the first migrates, the
    others wait, then find nothing to do). SQLite's file lock serializes its writers already."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
            connection.commit()


def _revisions(engine: Engine) -> tuple[str | None, str, bool]:
    """(the database's revision, this release's head, whether this release knows the database's revision)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    known = current is None or any(rev.revision == current for rev in script.walk_revisions())
    return current, script.get_current_head(), known


def _refuse_newer(current: str | None, head: str, known: bool) -> None:
    if not known:
        raise SchemaMismatch("store.schema.newer", f"the database's schema ({current}) is newer than this "
                             f"release's ({head}): a newer release migrated it; run that release")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (alembic), one migrator at a time; a schema newer than this
    release's code is refused (``store.schema.newer``), not downgraded nor half-read."""
    from alembic import command

    with _one_migrator(engine):
        _refuse_newer(*_revisions(engine))
        command.upgrade(_alembic_config(engine), revision)


def require_current(engine: Engine) -> None:
    """For commands that only read: the schema must be this release's, and is never migrated by them
    (an operator's newer ``hie`` must not upgrade the database under running nodes of the older one)."""
    current, head, known = _revisions(engine)
    _refuse_newer(current, head, known)
    if current != head:
        raise SchemaMismatch("store.schema.older", f"the database's schema ({current or 'none'}) is older than "
                             f"this release's ({head}): upgrade the hub first (hie serve migrates at start)")


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


__all__ = ["transaction", "make_engine", "session_factory", "migrate", "downgrade", "require_current",
           "SchemaMismatch", "sqlite_url"]
