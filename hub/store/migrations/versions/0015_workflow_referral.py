"""workflows: ``workflow_referral`` (a case per up-referral) and ``workflow_referral_event`` (its moves)

Issue 21's two-way referral: one case per up-referral document (one live case per document: a redirect
ends a case and opens one at the new hospital), its deadlines and history. Numbered 0015 on the referral
branch; the integrator renumbers it after the other workflows' migrations.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None
_LIVE = sa.text("state <> 'redirected'")


def upgrade():
    op.create_table(
        'workflow_referral',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('document_row_id', sa.Integer(), nullable=False),
        sa.Column('previous_id', sa.Integer(), nullable=True),
        sa.Column('from_institution', sa.String(length=64), nullable=False),
        sa.Column('to_institution', sa.String(length=64), nullable=False),
        sa.Column('department_code', sa.String(length=32), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason_code', sa.String(length=32), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('discharged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('down_document_row_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['document_row_id'], ['record_document.id'],
                                name=op.f('fk_workflow_referral_document_row_id_record_document'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['down_document_row_id'], ['record_document.id'],
                                name=op.f('fk_workflow_referral_down_document_row_id_record_document')),
        sa.ForeignKeyConstraint(['previous_id'], ['workflow_referral.id'],
                                name=op.f('fk_workflow_referral_previous_id_workflow_referral')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_referral')),
    )
    with op.batch_alter_table('workflow_referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_referral_document_row_id'), ['document_row_id'], unique=False)
        batch_op.create_index('ix_workflow_referral_due', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_referral_from_institution'), ['from_institution'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_referral_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_referral_to_institution'), ['to_institution'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_referral_updated_at'), ['updated_at'], unique=False)
        batch_op.create_index('ux_workflow_referral_live', ['document_row_id'], unique=True,
                              sqlite_where=_LIVE, postgresql_where=_LIVE)
    op.create_table(
        'workflow_referral_event',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('from_state', sa.String(length=16), nullable=True),
        sa.Column('to_state', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['workflow_referral.id'],
                                name=op.f('fk_workflow_referral_event_case_id_workflow_referral'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_referral_event')),
    )
    with op.batch_alter_table('workflow_referral_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_referral_event_case_id'), ['case_id'], unique=False)


def downgrade():
    op.drop_table('workflow_referral_event')
    op.drop_table('workflow_referral')
