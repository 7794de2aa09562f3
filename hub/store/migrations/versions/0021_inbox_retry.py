"""inbox: ``inbox_message.attempts`` and ``retry_after``, a message failing by a stage's bug retried with back-off

A message whose processing fails by a bug (not bad data) stays ``accepted``: a clinical fact is never
dropped. Its failed attempts are counted and it is not taken again before ``retry_after``, so it is
neither retried on every tick nor, at the head of the inbox, in the way of the messages behind it
(``hub.chunks.RETRY_FIRST_S``). The processor's pending read stays on ``ix_inbox_message_status``: the
new condition filters the few rows that carry a ``retry_after`` (docs/records.md).

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbox_message') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('retry_after', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # ALTER TABLE … DROP COLUMN on both (SQLite ≥ 3.35): batch mode would rebuild the table on SQLite, and
    # dropping the old one fails on the foreign keys of the messages' records once there are any.
    op.execute('ALTER TABLE inbox_message DROP COLUMN retry_after')
    op.execute('ALTER TABLE inbox_message DROP COLUMN attempts')
