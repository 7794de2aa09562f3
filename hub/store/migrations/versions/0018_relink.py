"""mpi: ``mpi_merge_pending``, the merges and unmerges not yet taken up downstream

A merge or unmerge writes its row in its own transaction; the workflows' runner re-links the disease cases
of its two persons at its next pass and deletes the row in that transaction (docs/workflows.md, "Cases, not
cards"). It replaces the surveillance workflow's mark over ``mpi_merge.id`` (the watermark row
``disease.cases.mpi``): the merges after that mark become pending rows, so an upgrade loses none.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_OLD_MARK = "disease.cases.mpi"


def upgrade():
    op.create_table(
        'mpi_merge_pending',
        sa.Column('merge_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['merge_id'], ['mpi_merge.id'], name=op.f('fk_mpi_merge_pending_merge_id_mpi_merge')),
        sa.PrimaryKeyConstraint('merge_id', name=op.f('pk_mpi_merge_pending')),
    )
    op.execute(sa.text("INSERT INTO mpi_merge_pending (merge_id) SELECT id FROM mpi_merge WHERE id > "
                       "(SELECT COALESCE(MAX(document_row_id), 0) FROM workflow_watermark WHERE name = :name)")
               .bindparams(name=_OLD_MARK))
    op.execute(sa.text("DELETE FROM workflow_watermark WHERE name = :name").bindparams(name=_OLD_MARK))


def downgrade():
    # without its mark, the old code re-links the persons of every merge once: more work, nothing lost
    op.drop_table('mpi_merge_pending')
