"""registry: ``registry_population``, the population figures a bureau declares per division and year

The denominators of incidence and coverage came only from ``schemas/reference/population.csv``.
A bureau now loads its own (``hie registry population import``); the ETL lets a row of this table
replace the reference file's row for the same division and year. Aggregate figures only, no
patient data.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'registry_population',
        sa.Column('division_code', sa.String(length=12), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('population', sa.Integer(), nullable=False),
        sa.Column('live_births', sa.Integer(), nullable=False),
        sa.Column('children_under_7', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('division_code', 'year', name=op.f('pk_registry_population')),
    )


def downgrade():
    op.drop_table('registry_population')
