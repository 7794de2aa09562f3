"""store: ``hub_lease``, named leases held by one process at a time across nodes

The ETL of a mart (``etl:<mart>``) and the workflows' runner (``workflows``) run once at a time however
many hub nodes and processors share the database (issue 22; ``hub.store.lease``).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'hub_lease',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_hub_lease')),
    )


def downgrade():
    op.drop_table('hub_lease')
