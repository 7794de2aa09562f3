"""workflows: ``workflow_watermark``, ``workflow_alert``, ``workflow_alert_event``, ``workflow_subscription``

The foundation of the collaboration services (issue 21): the runner's per-handler watermarks over
``record_document``, alerts (one open alert per kind and incident key) with their history, and members'
subscriptions to notification topics.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_document_document_type'))
        batch_op.create_index('ix_record_document_type_updated', ['document_type', 'updated_at', 'id'], unique=False)
    op.create_table(
        'workflow_watermark',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('document_row_id', sa.Integer(), nullable=False),
        sa.Column('changes', sa.Integer(), nullable=False),
        sa.Column('advanced_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_workflow_watermark')),
    )
    op.create_table(
        'workflow_alert',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('district', sa.String(length=12), nullable=True),
        sa.Column('institution', sa.String(length=64), nullable=True),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_alert')),
    )
    with op.batch_alter_table('workflow_alert', schema=None) as batch_op:
        batch_op.create_index('ux_workflow_alert_live', ['kind', 'key'], unique=True,
                              sqlite_where=sa.text("state <> 'closed'"),
                              postgresql_where=sa.text("state <> 'closed'"))
        batch_op.create_index('ix_workflow_alert_kind_key', ['kind', 'key'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_alert_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_alert_institution'), ['institution'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_alert_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_alert_updated_at'), ['updated_at'], unique=False)
    op.create_table(
        'workflow_alert_event',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('occurrence', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['alert_id'], ['workflow_alert.id'],
                                name=op.f('fk_workflow_alert_event_alert_id_workflow_alert'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_alert_event')),
    )
    with op.batch_alter_table('workflow_alert_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_alert_event_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_alert_event_occurrence'), ['occurrence'], unique=False)
    op.create_table(
        'workflow_subscription',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('member', sa.String(length=64), nullable=False),
        sa.Column('topic', sa.String(length=32), nullable=False),
        sa.Column('filter', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_subscription')),
        sa.UniqueConstraint('member', 'topic', 'filter', name=op.f('uq_workflow_subscription_member')),
    )
    with op.batch_alter_table('workflow_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_subscription_member'), ['member'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_subscription_topic'), ['topic'], unique=False)


def downgrade():
    op.drop_table('workflow_subscription')
    op.drop_table('workflow_alert_event')
    op.drop_table('workflow_alert')
    op.drop_table('workflow_watermark')
    with op.batch_alter_table('record_document', schema=None) as batch_op:
        batch_op.drop_index('ix_record_document_type_updated')
        batch_op.create_index(batch_op.f('ix_record_document_document_type'), ['document_type'], unique=False)
