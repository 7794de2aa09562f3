"""one word for the party that sends: sender, recipient, actor_org, org and org_code become member

Renames columns in place (no table is copied: the inbox may be large): PostgreSQL renames
columns, indexes and constraints in one transaction; SQLite renames columns (ALTER TABLE …
RENAME COLUMN, which also rewrites the column inside every index and constraint) and recreates
the plain indexes under their new names. SQLite cannot rename a table constraint without copying
the table, so the two constraints whose names held the old word (the inbox's unique key, the
grant's foreign key) are renamed in the schema text itself: only the constraint's name changes,
the table's storage and the index behind the constraint are untouched. Python's sqlite3 commits
DDL as it goes, so on SQLite each step first looks whether it is already done: a migration cut
off half-way finishes when it runs again.

Stop the hub (web workers and processor) before upgrading: a process still running the code
before this revision writes the old column names.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = [  # (table, old column, new column)
    ('inbox_envelope', 'sender', 'member'),
    ('inbox_message', 'sender', 'member'),
    ('outbox_reply', 'recipient', 'member'),
    ('audit_event', 'actor_org', 'member'),
    ('request_nonce', 'sender', 'member'),
    ('auth_api_token', 'org', 'member'),
    ('registry_access_grant', 'org_code', 'member'),
]
INDEXES = [  # (table, old name, new name, columns after the rename)
    ('outbox_reply', 'ix_outbox_reply_recipient_acked', 'ix_outbox_reply_member_acked', ['member', 'acked_at']),
    ('auth_api_token', 'ix_auth_api_token_org', 'ix_auth_api_token_member', ['member']),
    ('registry_access_grant', 'ix_registry_access_grant_org_code', 'ix_registry_access_grant_member', ['member']),
]
CONSTRAINTS = [  # (table, old name, new name)
    ('inbox_message', 'uq_inbox_message_sender_message_id', 'uq_inbox_message_member_message_id'),
    ('registry_access_grant', 'fk_registry_access_grant_org_code_registry_institution',
     'fk_registry_access_grant_member_registry_institution'),
]


def _rename(columns, indexes, constraints):
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        for table, old, new in columns:
            op.execute(f'ALTER TABLE {table} RENAME COLUMN {old} TO {new}')
        for _table, old, new, _indexed in indexes:
            op.execute(f'ALTER INDEX {old} RENAME TO {new}')
        for table, old, new in constraints:
            op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new}')
        return
    connection = bind.connection.driver_connection
    for table, old, new in columns:
        if old in {row[1] for row in connection.execute(f'PRAGMA table_info({table})')}:
            op.execute(f'ALTER TABLE {table} RENAME COLUMN {old} TO {new}')
    for table, old, new, indexed in indexes:
        names = {row[1] for row in connection.execute(f'PRAGMA index_list({table})')}
        if old in names:
            op.execute(f'DROP INDEX {old}')
        if new not in names:
            op.execute(f'CREATE INDEX {new} ON {table} ({", ".join(indexed)})')
    for table, old, new in constraints:
        _rename_sqlite_constraint(connection, table, old, new)


def _rename_sqlite_constraint(connection, table: str, old: str, new: str) -> None:
    """Rename a named table constraint in SQLite's stored CREATE TABLE text (the name only)."""
    (sql,) = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if f'CONSTRAINT {new} ' in sql:
        return  # done by an earlier, interrupted run
    if f'CONSTRAINT {old} ' not in sql:
        raise RuntimeError(f'{table}: constraint {old} not found')
    (version,) = connection.execute('PRAGMA schema_version').fetchone()
    connection.execute('PRAGMA writable_schema = ON')
    try:
        connection.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                           (sql.replace(f'CONSTRAINT {old} ', f'CONSTRAINT {new} ', 1), table))
        connection.execute(f'PRAGMA schema_version = {version + 1}')  # other connections re-read the schema
    finally:
        connection.execute('PRAGMA writable_schema = OFF')


def upgrade():
    _rename(COLUMNS, INDEXES, CONSTRAINTS)


def downgrade():
    _rename([(table, new, old) for table, old, new in COLUMNS],
            [(table, new, old, [old_column if c == 'member' else c for c in columns])
             for (table, old, new, columns), (_, old_column, _) in zip(INDEXES, [COLUMNS[2], COLUMNS[5], COLUMNS[6]])],
            [(table, new, old) for table, old, new in CONSTRAINTS])
