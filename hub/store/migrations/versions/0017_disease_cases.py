"""workflows: ``workflow_disease_case`` and ``workflow_disease_case_card``

The surveillance workflow (issue 21): report cards of one person and disease linked through the MPI
into cases (one per episode), and which card belongs to which case.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workflow_disease_case',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('disease_code', sa.String(length=16), nullable=False),
        sa.Column('district', sa.String(length=12), nullable=False),
        sa.Column('first_onset', sa.Date(), nullable=False),
        sa.Column('first_diagnosis', sa.Date(), nullable=False),
        sa.Column('first_report_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('institutions', sa.String(length=400), nullable=False),
        sa.Column('card_count', sa.Integer(), nullable=False),
        sa.Column('first_card_row_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_disease_case')),
    )
    with op.batch_alter_table('workflow_disease_case', schema=None) as batch_op:
        batch_op.create_index('ix_workflow_disease_case_series', ['disease_code', 'district', 'first_diagnosis'],
                              unique=False)
        batch_op.create_index('ix_workflow_disease_case_person', ['person_id', 'disease_code'], unique=False)
    op.create_table(
        'workflow_disease_case_card',
        sa.Column('document_row_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['workflow_disease_case.id'],
                                name=op.f('fk_workflow_disease_case_card_case_id_workflow_disease_case'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('document_row_id', name=op.f('pk_workflow_disease_case_card')),
    )
    with op.batch_alter_table('workflow_disease_case_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_disease_case_card_case_id'), ['case_id'], unique=False)


def downgrade():
    op.drop_table('workflow_disease_case_card')
    op.drop_table('workflow_disease_case')
