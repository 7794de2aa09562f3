"""exchange inbox, replies, audit, nonces

Revision ID: 0001
Revises: 
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('actor_org', sa.String(length=64), nullable=True),
    sa.Column('cert_serial', sa.String(length=64), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('envelope_sha256', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('inbox_envelope',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('cert_serial', sa.String(length=64), nullable=False),
    sa.Column('wsa_message_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_envelope'))
    )
    with op.batch_alter_table('inbox_envelope', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_envelope_sha256'), ['sha256'], unique=False)

    op.create_table('outbox_reply',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('reply_id', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('in_reply_to', sa.String(length=200), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_reply')),
    sa.UniqueConstraint('reply_id', name=op.f('uq_outbox_reply_reply_id'))
    )
    with op.batch_alter_table('outbox_reply', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_reply_recipient_acked', ['recipient', 'acked_at'], unique=False)

    op.create_table('request_nonce',
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sender', 'message_id', name=op.f('pk_request_nonce'))
    )
    with op.batch_alter_table('request_nonce', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_nonce_expires_at'), ['expires_at'], unique=False)

    op.create_table('inbox_message',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('envelope_id', sa.Integer(), nullable=False),
    sa.Column('item_index', sa.Integer(), nullable=False),
    sa.Column('document_type', sa.String(length=200), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receipt', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['envelope_id'], ['inbox_envelope.id'], name=op.f('fk_inbox_message_envelope_id_inbox_envelope')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_message')),
    sa.UniqueConstraint('sender', 'message_id', name='uq_inbox_message_sender_message_id')
    )
    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_message_status', ['status'], unique=False)




def downgrade():

    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_message_status')

    op.drop_table('inbox_message')
    with op.batch_alter_table('request_nonce', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_nonce_expires_at'))

    op.drop_table('request_nonce')
    with op.batch_alter_table('outbox_reply', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_reply_recipient_acked')

    op.drop_table('outbox_reply')
    with op.batch_alter_table('inbox_envelope', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_envelope_sha256'))

    op.drop_table('inbox_envelope')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')

