"""console: its users (role, region or institution scope, argon2 hash) and server-side sessions

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'console_user',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=100), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=True),
        sa.Column('institution_code', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_user')),
        sa.UniqueConstraint('username', name=op.f('uq_console_user_username')),
    )
    op.create_table(
        'console_session',
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], name=op.f('fk_console_session_user_id_console_user')),
        sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_console_session')),
    )
    with op.batch_alter_table('console_session') as batch:
        batch.create_index(batch.f('ix_console_session_user_id'), ['user_id'], unique=False)
        batch.create_index(batch.f('ix_console_session_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('console_session') as batch:
        batch.drop_index(batch.f('ix_console_session_expires_at'))
        batch.drop_index(batch.f('ix_console_session_user_id'))
    op.drop_table('console_session')
    op.drop_table('console_user')
