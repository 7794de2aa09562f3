"""codes: ``code_addition``, the codes an operator imported into the hub's sample code lists

``hie codes import`` wrote into the installation's ``schemas/codes``: an upgrade lost the import, a
read-only installation could not import, and each hub of a deployment had to be imported into. The
database is now the place of record (docs/code-lists.md); every hub process merges its rows into the
shipped lists.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'code_addition',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('system', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('display', sa.String(length=500), nullable=False),
        sa.Column('columns', sa.Text(), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_code_addition')),
        sa.UniqueConstraint('system', 'code', name=op.f('uq_code_addition_system')),
    )


def downgrade():
    op.drop_table('code_addition')
