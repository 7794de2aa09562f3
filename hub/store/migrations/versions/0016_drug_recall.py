"""drugs: ``workflow_recall``, ``workflow_recall_notice``, ``workflow_drug_pending``

Drug traceability and recall (issue 21): the bureau's recall of a batch (one per drug and batch) and its
notice to each affected institution, confirmed when the institution acknowledges the notice's reply;
the batches waiting out their settle time before their anomalies are judged.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workflow_recall',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('drug_code', sa.String(length=32), nullable=False),
        sa.Column('batch_number', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raised_by', sa.String(length=64), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirm_by', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_recall')),
    )
    with op.batch_alter_table('workflow_recall', schema=None) as batch_op:
        batch_op.create_index('ux_workflow_recall_batch', ['drug_code', 'batch_number'], unique=True)
    op.create_table(
        'workflow_recall_notice',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('recall_id', sa.Integer(), nullable=False),
        sa.Column('institution', sa.String(length=64), nullable=False),
        sa.Column('reply_id', sa.String(length=64), nullable=False),
        sa.Column('received', sa.String(length=32), nullable=False),
        sa.Column('dispensed', sa.String(length=32), nullable=False),
        sa.Column('patients', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), server_default=sa.text("'sent'"), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['recall_id'], ['workflow_recall.id'],
                                name=op.f('fk_workflow_recall_notice_recall_id_workflow_recall'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_recall_notice')),
        sa.UniqueConstraint('recall_id', 'institution', name=op.f('uq_workflow_recall_notice_recall_id')),
    )
    with op.batch_alter_table('workflow_recall_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_recall_notice_recall_id'), ['recall_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_recall_notice_reply_id'), ['reply_id'], unique=False)
    op.create_table(
        'workflow_drug_pending',
        sa.Column('drug_code', sa.String(length=32), nullable=False),
        sa.Column('batch_number', sa.String(length=64), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('occurrence', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('drug_code', 'batch_number', name=op.f('pk_workflow_drug_pending')),
    )
    with op.batch_alter_table('workflow_drug_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_drug_pending_due_at'), ['due_at'], unique=False)


def downgrade():
    op.drop_table('workflow_drug_pending')
    op.drop_table('workflow_recall_notice')
    op.drop_table('workflow_recall')
