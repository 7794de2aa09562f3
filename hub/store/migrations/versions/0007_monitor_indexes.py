"""monitor: the inbox's (member, received_at, status) index, the audit trail's partial index of refusals, reconcile checks

The exchange monitor (``hub.monitor``) reads traffic, silent members and refusals by member and
time. Without these, a 24-hour traffic view of a district's 30 members read 4.3 s and the silent
members 6.4 s of a million-message SQLite inbox (every inbox row holds its document, so any read
that touches rows is slow); with them, the same reads touch index entries only
(docs/monitor.md has the figures). ``ix_audit_event_refusal`` holds the failure rows only
(``WHERE outcome = 'failure'``): the accepts written for every message never enter it.

``reconcile_check`` keeps the outcome of each ``hie etl reconcile`` (it was only printed).

Building the inbox index reads the whole inbox: about 3 s per million messages on SQLite here.
Stop the hub (web workers and processor) before upgrading, as for any migration; on PostgreSQL
the table is locked against writes while the index is built.

Follows the console's 0006 (built at the same time on another branch).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

REFUSALS = "outcome = 'failure'"


def upgrade():
    op.create_table(
        'reconcile_check',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('pairs', sa.Integer(), nullable=False),
        sa.Column('differing', sa.Integer(), nullable=False),
        sa.Column('oltp_rows', sa.Integer(), nullable=False),
        sa.Column('mart_rows', sa.Integer(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_check')),
    )
    op.create_index('ix_inbox_message_member_received_at', 'inbox_message', ['member', 'received_at', 'status'])
    op.create_index('ix_audit_event_refusal', 'audit_event',
                    ['at', 'member', 'event_type', 'code', 'message_id', 'envelope_sha256'],
                    sqlite_where=sa.text(REFUSALS), postgresql_where=sa.text(REFUSALS))


def downgrade():
    op.drop_index('ix_audit_event_refusal', table_name='audit_event')
    op.drop_index('ix_inbox_message_member_received_at', table_name='inbox_message')
    op.drop_table('reconcile_check')
