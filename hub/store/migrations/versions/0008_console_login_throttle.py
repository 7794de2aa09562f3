"""console: the sign-in throttle's attempts (a digest of the name typed, the client address, when)

The audit trail cannot count failures per name: it names the user only when it exists (an unknown
name must be throttled alike, or the throttle would tell which names exist), and it keeps no name
typed. Rows older than the throttle's window are deleted at each sign-in.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'console_login_attempt',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('username_sha256', sa.String(length=64), nullable=False),
        sa.Column('client_address', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_login_attempt')),
    )
    with op.batch_alter_table('console_login_attempt') as batch:
        batch.create_index(batch.f('ix_console_login_attempt_at'), ['at'], unique=False)
        batch.create_index('ix_console_login_attempt_name', ['username_sha256', 'at'], unique=False)
        batch.create_index('ix_console_login_attempt_address', ['client_address', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('console_login_attempt') as batch:
        batch.drop_index('ix_console_login_attempt_address')
        batch.drop_index('ix_console_login_attempt_name')
        batch.drop_index(batch.f('ix_console_login_attempt_at'))
    op.drop_table('console_login_attempt')
