"""Alembic environment: the engine is handed in by hub.store.db.migrate."""
from alembic import context

from hub.store.metadata import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata(), render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
