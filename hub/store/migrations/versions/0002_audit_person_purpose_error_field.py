"""audit: person and purpose of record reads; inbox: the field a rejection names

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('purpose', sa.String(length=64), nullable=True))
        batch.create_index('ix_audit_event_person_id', ['person_id'])
    with op.batch_alter_table('inbox_message') as batch:
        batch.add_column(sa.Column('error_field', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('inbox_message') as batch:
        batch.drop_column('error_field')
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_person_id')
        batch.drop_column('purpose')
        batch.drop_column('person_id')
