"""health-record store, master patient index, registries, API tokens

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('auth_api_token',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('org', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_api_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_auth_api_token_token_sha256'))
    )
    with op.batch_alter_table('auth_api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_api_token_org'), ['org'], unique=False)

    op.create_table('mpi_person',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('name_pinyin', sa.String(length=200), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('division', sa.String(length=6), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['mpi_person.id'], name=op.f('fk_mpi_person_merged_into_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_person'))
    )
    with op.batch_alter_table('mpi_person', schema=None) as batch_op:
        batch_op.create_index('ix_mpi_person_birth_date', ['birth_date'], unique=False)
        batch_op.create_index('ix_mpi_person_name_pinyin', ['name_pinyin', 'birth_date'], unique=False)
        batch_op.create_index('ix_mpi_person_phone', ['phone'], unique=False)

    op.create_table('registry_institution',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=True),
    sa.Column('division_code', sa.String(length=12), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['registry_institution.code'], name=op.f('fk_registry_institution_parent_code_registry_institution')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_registry_institution'))
    )
    with op.batch_alter_table('registry_institution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_institution_division_code'), ['division_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_institution_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_institution_parent_code'), ['parent_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_institution_updated_at'), ['updated_at'], unique=False)

    op.create_table('registry_region',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_registry_region'))
    )
    with op.batch_alter_table('registry_region', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_region_parent_code'), ['parent_code'], unique=False)

    op.create_table('mpi_identifier',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_mpi_identifier_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_identifier')),
    sa.UniqueConstraint('root', 'value', name='uq_mpi_identifier_root_value')
    )
    with op.batch_alter_table('mpi_identifier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mpi_identifier_person_id'), ['person_id'], unique=False)

    op.create_table('mpi_merge',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('retired_id', sa.Integer(), nullable=False),
    sa.Column('undoes_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['retired_id'], ['mpi_person.id'], name=op.f('fk_mpi_merge_retired_id_mpi_person')),
    sa.ForeignKeyConstraint(['survivor_id'], ['mpi_person.id'], name=op.f('fk_mpi_merge_survivor_id_mpi_person')),
    sa.ForeignKeyConstraint(['undoes_id'], ['mpi_merge.id'], name=op.f('fk_mpi_merge_undoes_id_mpi_merge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_merge')),
    sa.UniqueConstraint('undoes_id', name=op.f('uq_mpi_merge_undoes_id'))
    )
    with op.batch_alter_table('mpi_merge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mpi_merge_retired_id'), ['retired_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mpi_merge_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('mpi_patient_record',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('local_key', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('name_pinyin', sa.String(length=200), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('division', sa.String(length=6), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('resident_id', sa.String(length=18), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_mpi_patient_record_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_patient_record')),
    sa.UniqueConstraint('institution', 'local_key', name='uq_mpi_patient_record_institution_local_key')
    )
    with op.batch_alter_table('mpi_patient_record', schema=None) as batch_op:
        batch_op.create_index('ix_mpi_patient_record_birth_date', ['birth_date'], unique=False)
        batch_op.create_index('ix_mpi_patient_record_name_pinyin', ['name_pinyin', 'birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_mpi_patient_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_mpi_patient_record_phone', ['phone'], unique=False)

    op.create_table('registry_access_grant',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('org_code', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['org_code'], ['registry_institution.code'], name=op.f('fk_registry_access_grant_org_code_registry_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_access_grant'))
    )
    with op.batch_alter_table('registry_access_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_access_grant_org_code'), ['org_code'], unique=False)

    op.create_table('registry_department',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution_code', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('standard_code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_code'], ['registry_institution.code'], name=op.f('fk_registry_department_institution_code_registry_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_department')),
    sa.UniqueConstraint('institution_code', 'code', name='uq_registry_department_institution_code')
    )
    with op.batch_alter_table('registry_department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_department_updated_at'), ['updated_at'], unique=False)

    op.create_table('registry_practitioner',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution_code', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title_code', sa.String(length=8), nullable=True),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_code'], ['registry_institution.code'], name=op.f('fk_registry_practitioner_institution_code_registry_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_practitioner')),
    sa.UniqueConstraint('institution_code', 'code', name='uq_registry_practitioner_institution_code')
    )
    with op.batch_alter_table('registry_practitioner', schema=None) as batch_op:
        batch_op.create_index('ix_registry_practitioner_institution_department', ['institution_code', 'department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_practitioner_updated_at'), ['updated_at'], unique=False)

    op.create_table('mpi_merge_move',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('merge_id', sa.Integer(), nullable=False),
    sa.Column('item_kind', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merge_id'], ['mpi_merge.id'], name=op.f('fk_mpi_merge_move_merge_id_mpi_merge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_merge_move'))
    )
    with op.batch_alter_table('mpi_merge_move', schema=None) as batch_op:
        batch_op.create_index('ix_mpi_merge_move_merge_id', ['merge_id', 'item_kind'], unique=False)

    op.create_table('mpi_review',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('candidate_person_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_person_id'], ['mpi_person.id'], name=op.f('fk_mpi_review_candidate_person_id_mpi_person')),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_mpi_review_patient_record_id_mpi_patient_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpi_review'))
    )
    with op.batch_alter_table('mpi_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mpi_review_candidate_person_id'), ['candidate_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mpi_review_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index('ix_mpi_review_status', ['status'], unique=False)

    op.create_table('record_document',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('id_root', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document_type', sa.String(length=40), nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('effective_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('practitioner_code', sa.String(length=64), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('patient_record_id', sa.Integer(), nullable=True),
    sa.Column('message_row_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_row_id'], ['inbox_message.id'], name=op.f('fk_record_document_message_row_id_inbox_message')),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_document_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_document_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_document')),
    sa.UniqueConstraint('institution', 'id_root', 'document_id', name=op.f('uq_record_document_institution'))
    )
    with op.batch_alter_table('record_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_document_document_type'), ['document_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_document_message_row_id'), ['message_row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_document_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index('ix_record_document_person', ['person_id', 'effective_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_document_updated_at'), ['updated_at'], unique=False)

    op.create_table('record_charge',
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('charged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_charge_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_charge_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_charge_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_charge'))
    )
    with op.batch_alter_table('record_charge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_charge_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_charge_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_charge_person_id'), ['person_id'], unique=False)

    op.create_table('record_child_checkup',
    sa.Column('checkup_date', sa.Date(), nullable=False),
    sa.Column('age_months', sa.Integer(), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('height_cm', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('head_circumference_cm', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('development', sa.String(length=16), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_child_checkup_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_child_checkup_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_child_checkup_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_child_checkup'))
    )
    with op.batch_alter_table('record_child_checkup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_child_checkup_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_child_checkup_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_child_checkup_person_id'), ['person_id'], unique=False)

    op.create_table('record_diagnosis',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('code_system', sa.String(length=32), nullable=False),
    sa.Column('display', sa.String(length=200), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('diagnosed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('context', sa.String(length=24), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_diagnosis_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_diagnosis_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_diagnosis_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_diagnosis'))
    )
    with op.batch_alter_table('record_diagnosis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_diagnosis_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_diagnosis_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_diagnosis_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_diagnosis_person_id'), ['person_id'], unique=False)

    op.create_table('record_disease_report',
    sa.Column('disease_code', sa.String(length=16), nullable=False),
    sa.Column('disease_class', sa.String(length=4), nullable=False),
    sa.Column('case_classification', sa.String(length=8), nullable=False),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('diagnosis_date', sa.Date(), nullable=False),
    sa.Column('occupation_code', sa.String(length=16), nullable=True),
    sa.Column('division', sa.String(length=12), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_disease_report_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_disease_report_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_disease_report_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_disease_report'))
    )
    with op.batch_alter_table('record_disease_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_disease_report_disease_code'), ['disease_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_disease_report_division'), ['division'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_disease_report_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_disease_report_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_disease_report_person_id'), ['person_id'], unique=False)

    op.create_table('record_drug_movement',
    sa.Column('movement_type', sa.String(length=16), nullable=False),
    sa.Column('from_code', sa.String(length=64), nullable=False),
    sa.Column('from_kind', sa.String(length=16), nullable=False),
    sa.Column('to_code', sa.String(length=64), nullable=False),
    sa.Column('to_kind', sa.String(length=16), nullable=False),
    sa.Column('drug_code', sa.String(length=32), nullable=False),
    sa.Column('batch_number', sa.String(length=64), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_drug_movement_document_ref_record_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_drug_movement'))
    )
    with op.batch_alter_table('record_drug_movement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_drug_movement_batch_number'), ['batch_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_drug_movement_document_ref'), ['document_ref'], unique=False)

    op.create_table('record_encounter',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('practitioner_code', sa.String(length=64), nullable=True),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ward', sa.String(length=64), nullable=True),
    sa.Column('bed_days', sa.Integer(), nullable=True),
    sa.Column('discharge_outcome', sa.String(length=16), nullable=True),
    sa.Column('total_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_encounter_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_encounter_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_encounter_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_encounter'))
    )
    with op.batch_alter_table('record_encounter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_encounter_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_encounter_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_encounter_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_encounter_start_time'), ['start_time'], unique=False)

    op.create_table('record_immunization',
    sa.Column('vaccine_code', sa.String(length=32), nullable=False),
    sa.Column('dose_number', sa.Integer(), nullable=False),
    sa.Column('administered_on', sa.Date(), nullable=False),
    sa.Column('batch_number', sa.String(length=64), nullable=False),
    sa.Column('manufacturer', sa.String(length=200), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_immunization_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_immunization_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_immunization_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_immunization'))
    )
    with op.batch_alter_table('record_immunization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_immunization_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_immunization_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_immunization_person_id'), ['person_id'], unique=False)

    op.create_table('record_institution_stats',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('staff_on_duty', sa.Integer(), nullable=False),
    sa.Column('approved_beds', sa.Integer(), nullable=False),
    sa.Column('open_beds', sa.Integer(), nullable=False),
    sa.Column('fixed_assets', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('outpatient_visits', sa.Integer(), nullable=True),
    sa.Column('inpatient_discharges', sa.Integer(), nullable=True),
    sa.Column('revenue_drugs', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('revenue_examinations', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('revenue_treatment', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('revenue_other', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_institution_stats_document_ref_record_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_institution_stats'))
    )
    with op.batch_alter_table('record_institution_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_institution_stats_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_institution_stats_period'), ['period'], unique=False)

    op.create_table('record_lab_result',
    sa.Column('test_code', sa.String(length=32), nullable=False),
    sa.Column('test_system', sa.String(length=32), nullable=True),
    sa.Column('test_name', sa.String(length=200), nullable=True),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('numeric_value', sa.Double(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('reference_low', sa.String(length=32), nullable=True),
    sa.Column('reference_high', sa.String(length=32), nullable=True),
    sa.Column('abnormal_flag', sa.String(length=8), nullable=True),
    sa.Column('specimen_code', sa.String(length=32), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_lab_result_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_lab_result_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_lab_result_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_lab_result'))
    )
    with op.batch_alter_table('record_lab_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_lab_result_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_lab_result_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_lab_result_person_id'), ['person_id'], unique=False)

    op.create_table('record_maternal_checkup',
    sa.Column('checkup_type', sa.String(length=16), nullable=False),
    sa.Column('checkup_date', sa.Date(), nullable=False),
    sa.Column('gestational_weeks', sa.Integer(), nullable=True),
    sa.Column('weight_kg', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('systolic', sa.Integer(), nullable=True),
    sa.Column('diastolic', sa.Integer(), nullable=True),
    sa.Column('high_risk', sa.Boolean(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_maternal_checkup_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_maternal_checkup_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_maternal_checkup_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_maternal_checkup'))
    )
    with op.batch_alter_table('record_maternal_checkup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_maternal_checkup_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_maternal_checkup_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_maternal_checkup_person_id'), ['person_id'], unique=False)

    op.create_table('record_medication',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('drug_code', sa.String(length=32), nullable=False),
    sa.Column('drug_name', sa.String(length=200), nullable=True),
    sa.Column('specification', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('batch_number', sa.String(length=64), nullable=True),
    sa.Column('dosage', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_medication_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_medication_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_medication_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_medication'))
    )
    with op.batch_alter_table('record_medication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_medication_batch_number'), ['batch_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_medication_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_medication_drug_code'), ['drug_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_medication_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_medication_person_id'), ['person_id'], unique=False)

    op.create_table('record_procedure',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('code_system', sa.String(length=32), nullable=True),
    sa.Column('display', sa.String(length=200), nullable=True),
    sa.Column('performed_on', sa.Date(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_procedure_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_procedure_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_procedure_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_procedure'))
    )
    with op.batch_alter_table('record_procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_procedure_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_procedure_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_procedure_person_id'), ['person_id'], unique=False)

    op.create_table('record_referral',
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('to_institution', sa.String(length=64), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('patient_record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution', sa.String(length=64), nullable=False),
    sa.Column('document_ref', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_ref'], ['record_document.id'], name=op.f('fk_record_referral_document_ref_record_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_record_id'], ['mpi_patient_record.id'], name=op.f('fk_record_referral_patient_record_id_mpi_patient_record')),
    sa.ForeignKeyConstraint(['person_id'], ['mpi_person.id'], name=op.f('fk_record_referral_person_id_mpi_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_referral'))
    )
    with op.batch_alter_table('record_referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_referral_document_ref'), ['document_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_referral_patient_record_id'), ['patient_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_referral_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_referral_to_institution'), ['to_institution'], unique=False)



def downgrade():
    with op.batch_alter_table('record_referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_referral_to_institution'))
        batch_op.drop_index(batch_op.f('ix_record_referral_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_referral_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_referral_document_ref'))

    op.drop_table('record_referral')
    with op.batch_alter_table('record_procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_procedure_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_procedure_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_procedure_document_ref'))

    op.drop_table('record_procedure')
    with op.batch_alter_table('record_medication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_medication_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_medication_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_medication_drug_code'))
        batch_op.drop_index(batch_op.f('ix_record_medication_document_ref'))
        batch_op.drop_index(batch_op.f('ix_record_medication_batch_number'))

    op.drop_table('record_medication')
    with op.batch_alter_table('record_maternal_checkup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_maternal_checkup_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_maternal_checkup_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_maternal_checkup_document_ref'))

    op.drop_table('record_maternal_checkup')
    with op.batch_alter_table('record_lab_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_lab_result_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_lab_result_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_lab_result_document_ref'))

    op.drop_table('record_lab_result')
    with op.batch_alter_table('record_institution_stats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_institution_stats_period'))
        batch_op.drop_index(batch_op.f('ix_record_institution_stats_document_ref'))

    op.drop_table('record_institution_stats')
    with op.batch_alter_table('record_immunization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_immunization_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_immunization_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_immunization_document_ref'))

    op.drop_table('record_immunization')
    with op.batch_alter_table('record_encounter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_encounter_start_time'))
        batch_op.drop_index(batch_op.f('ix_record_encounter_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_encounter_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_encounter_document_ref'))

    op.drop_table('record_encounter')
    with op.batch_alter_table('record_drug_movement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_drug_movement_document_ref'))
        batch_op.drop_index(batch_op.f('ix_record_drug_movement_batch_number'))

    op.drop_table('record_drug_movement')
    with op.batch_alter_table('record_disease_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_disease_report_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_disease_report_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_disease_report_document_ref'))
        batch_op.drop_index(batch_op.f('ix_record_disease_report_division'))
        batch_op.drop_index(batch_op.f('ix_record_disease_report_disease_code'))

    op.drop_table('record_disease_report')
    with op.batch_alter_table('record_diagnosis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_diagnosis_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_diagnosis_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_diagnosis_document_ref'))
        batch_op.drop_index(batch_op.f('ix_record_diagnosis_code'))

    op.drop_table('record_diagnosis')
    with op.batch_alter_table('record_child_checkup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_child_checkup_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_child_checkup_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_child_checkup_document_ref'))

    op.drop_table('record_child_checkup')
    with op.batch_alter_table('record_charge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_charge_person_id'))
        batch_op.drop_index(batch_op.f('ix_record_charge_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_charge_document_ref'))

    op.drop_table('record_charge')
    with op.batch_alter_table('record_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_document_updated_at'))
        batch_op.drop_index('ix_record_document_person')
        batch_op.drop_index(batch_op.f('ix_record_document_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_document_message_row_id'))
        batch_op.drop_index(batch_op.f('ix_record_document_document_type'))

    op.drop_table('record_document')
    with op.batch_alter_table('mpi_review', schema=None) as batch_op:
        batch_op.drop_index('ix_mpi_review_status')
        batch_op.drop_index(batch_op.f('ix_mpi_review_patient_record_id'))
        batch_op.drop_index(batch_op.f('ix_mpi_review_candidate_person_id'))

    op.drop_table('mpi_review')
    with op.batch_alter_table('mpi_merge_move', schema=None) as batch_op:
        batch_op.drop_index('ix_mpi_merge_move_merge_id')

    op.drop_table('mpi_merge_move')
    with op.batch_alter_table('registry_practitioner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_practitioner_updated_at'))
        batch_op.drop_index('ix_registry_practitioner_institution_department')

    op.drop_table('registry_practitioner')
    with op.batch_alter_table('registry_department', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_department_updated_at'))

    op.drop_table('registry_department')
    with op.batch_alter_table('registry_access_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_access_grant_org_code'))

    op.drop_table('registry_access_grant')
    with op.batch_alter_table('mpi_patient_record', schema=None) as batch_op:
        batch_op.drop_index('ix_mpi_patient_record_phone')
        batch_op.drop_index(batch_op.f('ix_mpi_patient_record_person_id'))
        batch_op.drop_index('ix_mpi_patient_record_name_pinyin')
        batch_op.drop_index('ix_mpi_patient_record_birth_date')

    op.drop_table('mpi_patient_record')
    with op.batch_alter_table('mpi_merge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mpi_merge_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_mpi_merge_retired_id'))

    op.drop_table('mpi_merge')
    with op.batch_alter_table('mpi_identifier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mpi_identifier_person_id'))

    op.drop_table('mpi_identifier')
    with op.batch_alter_table('registry_region', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_region_parent_code'))

    op.drop_table('registry_region')
    with op.batch_alter_table('registry_institution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_institution_updated_at'))
        batch_op.drop_index(batch_op.f('ix_registry_institution_parent_code'))
        batch_op.drop_index(batch_op.f('ix_registry_institution_kind'))
        batch_op.drop_index(batch_op.f('ix_registry_institution_division_code'))

    op.drop_table('registry_institution')
    with op.batch_alter_table('mpi_person', schema=None) as batch_op:
        batch_op.drop_index('ix_mpi_person_phone')
        batch_op.drop_index('ix_mpi_person_name_pinyin')
        batch_op.drop_index('ix_mpi_person_birth_date')

    op.drop_table('mpi_person')
    with op.batch_alter_table('auth_api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_api_token_org'))

    op.drop_table('auth_api_token')
