"""records: ``record_finding``, what the hub found wrong in a document it kept

A clinical fact is no longer refused for a demographic or formatting defect: the document is stored
and each defect is a finding (``protocol.findings``: a registered code and the field's path, never a
value), a row of the document like its other normalized rows, which the processing acknowledgement
reports to the sender and the data-quality figures count.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'record_finding',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('field', sa.String(length=300), nullable=False),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('institution', sa.String(length=64), nullable=False),
        sa.Column('document_ref', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'],
                                name=op.f('fk_record_finding_document_ref_record_document'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_record_finding')),
    )
    with op.batch_alter_table('record_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_finding_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_finding_document_ref'), ['document_ref'], unique=False)


def downgrade():
    with op.batch_alter_table('record_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_finding_document_ref'))
        batch_op.drop_index(batch_op.f('ix_record_finding_code'))
    op.drop_table('record_finding')
