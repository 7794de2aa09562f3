"""The store a command works on: the data directory's database (or ``--database-url``), migrated."""
from __future__ import annotations

import click
from sqlalchemy.orm import Session, sessionmaker

from ..codes import watch
from ..settings import Settings
from ..store.db import make_engine, migrate, require_current, session_factory


def open_store(data_dir, database_url, *, create: bool = True) -> sessionmaker[Session]:
    """A migrated session factory for the data directory's database.

    ``create=False`` (commands that only read): a data directory without a hub database is a
    mistake to report, not a database to create."""
    settings = Settings.load(data_dir, database_url=database_url)
    if not settings.database_url and not settings.data_dir.is_dir():
        raise click.ClickException(f"store.missing: no hub database in {settings.data_dir}: no such directory")
    if not create and not settings.database_url and not (settings.data_dir / "hub.db").is_file():
        raise click.ClickException(
            f"store.missing: no hub database in {settings.data_dir} (hie serve --data-dir creates it)")
    engine = make_engine(settings.db_url)
    if create:
        migrate(engine)
    else:  # only reading: never migrate a shared database under running nodes
        require_current(engine)
    sessions = session_factory(engine, settings=settings)  # the workflows read their settings there
    watch(sessions)  # this command's code lists: the shipped ones plus what was imported into this store
    return sessions


__all__ = ["open_store"]
