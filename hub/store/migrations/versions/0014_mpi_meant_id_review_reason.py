"""mpi: ``mpi_meant_id`` (the valid IDs an untrusted one may mean) and ``mpi_review.reason``

Issue 23's edge cases: a record resolved with an invalid resident ID is reconsidered when a valid ID one
slip from it is indexed later (one indexed look-up of ``mpi_meant_id.value``), and a review item says why
it pairs its record and candidate (score, identifier, near-miss, id-conflict).

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mpi_meant_id',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('patient_record_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('typed', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=18), nullable=False),
        sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'],
                                name=op.f('fk_mpi_meant_id_patient_record_id_mpi_patient_record')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_meant_id')),
    )
    with op.batch_alter_table('mpi_meant_id', schema=None) as batch_op:
        batch_op.create_index('ix_mpi_meant_id_value', ['value'], unique=False)
    with op.batch_alter_table('mpi_review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('mpi_review', schema=None) as batch_op:
        batch_op.drop_column('reason')
    with op.batch_alter_table('mpi_meant_id', schema=None) as batch_op:
        batch_op.drop_index('ix_mpi_meant_id_value')
    op.drop_table('mpi_meant_id')
