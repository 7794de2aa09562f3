"""etl: runs and watermarks; inbox_message.updated_at indexed (the ETL reads changes by it)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'etl_run',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('rows_written', sa.Integer(), nullable=False),
        sa.Column('rows_rejected', sa.Integer(), nullable=False),
        sa.Column('watermark_from', sa.String(length=200), nullable=False),
        sa.Column('watermark_to', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_etl_run')),
    )
    op.create_table(
        'etl_watermark',
        sa.Column('feed', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('feed', name=op.f('pk_etl_watermark')),
    )
    with op.batch_alter_table('inbox_message') as batch:
        batch.create_index('ix_inbox_message_updated_at', ['updated_at'])


def downgrade():
    with op.batch_alter_table('inbox_message') as batch:
        batch.drop_index('ix_inbox_message_updated_at')
    op.drop_table('etl_watermark')
    op.drop_table('etl_run')
