"""The alembic migrations build exactly the schema the models describe, and go down again."""
from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hub.store.db import downgrade, make_engine, migrate, sqlite_url
from hub.store.metadata import metadata

member_rename = importlib.import_module("hub.store.migrations.versions.0005_one_word_for_the_member")


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata())


def test_upgrade_matches_models_and_downgrade_removes_everything(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        assert _differences(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert {"inbox_message", "record_document", "record_encounter", "mpi_person"} <= tables
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)  # and up again from nothing
        assert _differences(engine) == []
    finally:
        engine.dispose()


_AT = "2026-01-02 03:04:05"
_BEFORE_MEMBER = [  # rows written by a hub on schema 0004, when the member had five names
    "INSERT INTO inbox_envelope (id, sha256, sender, cert_serial, wsa_message_id, action, received_at, raw) "
    f"VALUES (1, 'e', 'CLINIC01', '0a', 'urn:w', 'a', '{_AT}', 'x')",
    "INSERT INTO inbox_message (id, sender, message_id, envelope_id, item_index, document_type, document_sha256, "
    f"document, status, received_at, updated_at, receipt) VALUES (1, 'CLINIC01', 'urn:m1', 1, 0, 'T', 'd', 'x', "
    f"'accepted', '{_AT}', '{_AT}', 'r')",
    "INSERT INTO outbox_reply (reply_id, recipient, kind, content, created_at) "
    f"VALUES ('r1', 'CLINIC01', 'ack', 'x', '{_AT}')",
    "INSERT INTO audit_event (at, event_type, outcome, actor_org) "
    f"VALUES ('{_AT}', 'message.accept', 'success', 'CLINIC01')",
    f"INSERT INTO request_nonce (sender, message_id, expires_at) VALUES ('CLINIC01', 'urn:n1', '{_AT}')",
    f"INSERT INTO auth_api_token (token_sha256, org, label, created_at) VALUES ('t', 'BUREAU', 'l', '{_AT}')",
    "INSERT INTO registry_institution (code, name, kind, division_code, status, created_at, updated_at) "
    f"VALUES ('BUREAU', 'b', 'bureau', '330100', 'active', '{_AT}', '{_AT}')",
    "INSERT INTO registry_access_grant (org_code, scope, granted_by, granted_at) "
    f"VALUES ('BUREAU', 'identified', 'hub', '{_AT}')",
]
_MEMBER_OF = {"inbox_envelope": "CLINIC01", "inbox_message": "CLINIC01", "outbox_reply": "CLINIC01",
              "audit_event": "CLINIC01", "request_nonce": "CLINIC01", "auth_api_token": "BUREAU",
              "registry_access_grant": "BUREAU"}


def test_the_member_rename_keeps_every_row_and_key(db_url):
    """0005 renames the member's five old names on a store that holds rows, and back again."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "0004")
        with engine.begin() as connection:
            for statement in _BEFORE_MEMBER:
                connection.execute(text(statement))
        migrate(engine)
        assert _differences(engine) == []
        with engine.connect() as connection:
            for table, member in _MEMBER_OF.items():
                assert connection.execute(text(f"SELECT member FROM {table}")).scalars().all() == [member], table
        with pytest.raises(IntegrityError), engine.begin() as connection:  # the unique key still holds
            connection.execute(text(
                "INSERT INTO inbox_message (member, message_id, envelope_id, item_index, document_type, "
                "document_sha256, document, status, received_at, updated_at, receipt) VALUES ('CLINIC01', 'urn:m1', "
                f"1, 0, 'T', 'd', 'x', 'accepted', '{_AT}', '{_AT}', 'r')"))
        downgrade(engine, "0004")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT sender FROM inbox_message")).scalars().all() == ["CLINIC01"]
            assert connection.execute(text("SELECT org_code FROM registry_access_grant")).scalars().all() == ["BUREAU"]
        migrate(engine)
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_member_rename_cut_off_half_way_on_sqlite_finishes_when_run_again(tmp_path):
    """Python's sqlite3 commits DDL as it goes: 0005 cut off after some renames (here: the columns and
    the first index, as if the process died there) is finished by the next ``migrate``."""
    engine = make_engine(sqlite_url(tmp_path / "hub.db"))
    try:
        migrate(engine, "0004")
        with engine.begin() as connection:
            for statement in _BEFORE_MEMBER:
                connection.execute(text(statement))
            for table, old, new in member_rename.COLUMNS:
                connection.execute(text(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}"))
            table, old, new, columns = member_rename.INDEXES[0]
            connection.execute(text(f"DROP INDEX {old}"))
            connection.execute(text(f"CREATE INDEX {new} ON {table} ({', '.join(columns)})"))
        migrate(engine)
        assert _differences(engine) == []
        with engine.connect() as connection:
            for table, member in _MEMBER_OF.items():
                assert connection.execute(text(f"SELECT member FROM {table}")).scalars().all() == [member], table
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()
