"""The store a command works on: the data directory's database (or ``--database-url``), migrated."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from ..settings import Settings
from ..store.db import make_engine, migrate, session_factory


def open_store(data_dir, database_url) -> sessionmaker[Session]:
    """A migrated session factory for the data directory's database."""
    settings = Settings.load(data_dir, database_url=database_url)
    engine = make_engine(settings.db_url)
    migrate(engine)
    return session_factory(engine)


__all__ = ["open_store"]
