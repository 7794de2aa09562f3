"""audit: a nullable ``detail`` column for what an event names besides a message

A cube export wrote ``<cube>.<format>`` and the MPI's merge, unmerge and review events their
``mpi_merge:<id>`` / ``mpi_review:<id>`` reference into ``message_id``, a column that otherwise
holds a MessageID (the exchange monitor reads it as one). They now go to ``detail``; the rows
written before are moved over, and back on downgrade. ``detail`` holds names of things (a cube, a
format, an internal row id), never patient data.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# the events that named something other than a message in message_id
MOVED = "event_type = 'cube.export' OR event_type LIKE 'mpi.%'"


def upgrade():
    op.add_column('audit_event', sa.Column('detail', sa.String(length=200), nullable=True))
    op.execute(f"UPDATE audit_event SET detail = message_id, message_id = NULL WHERE {MOVED}")


def downgrade():
    op.execute(f"UPDATE audit_event SET message_id = detail WHERE ({MOVED}) AND message_id IS NULL")
    # a plain ALTER (SQLite has DROP COLUMN since 3.35): no copy of the table and its indexes
    op.drop_column('audit_event', 'detail')
