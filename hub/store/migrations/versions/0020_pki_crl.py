"""pki: ``pki_crl``, the CRLs published for every hub node to take up

``hie pki revoke`` rewrites one PKI directory's CRL; publishing it here lets each node's web process
write it over its own ``D/pki/crl.pem`` (``hub.pki_sync``), so that a revocation reaches every node.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pki_crl',
        sa.Column('crl_number', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('pem', sa.Text(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('crl_number', name=op.f('pk_pki_crl')),
    )


def downgrade():
    op.drop_table('pki_crl')
